"""The workspace's entry point: `streamlit run ui/app.py` (what `make run` starts)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts ui/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="话术助手 Huashu", page_icon=":material/chat:", layout="wide")
page = st.navigation(
    [
        st.Page("views/agent.py", title="客服工作台", icon=":material/support_agent:", default=True),
        st.Page("views/knowledge.py", title="知识库", icon=":material/menu_book:"),
        st.Page("views/evals.py", title="评测", icon=":material/analytics:"),
    ]
)
page.run()
