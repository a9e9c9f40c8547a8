"""The frame every page shares: the header (navigation, the backend in plain words, the LAN addresses), the
page-wide CSS, and the small script for what Gradio has no event for (keyboard shortcuts, the sidebar on a
phone, panels, opening a tab from the address, a running answer followed only while the user is at its end).

Icons are text or inline SVG from here, never an emoji font or a CDN. The app's icon (workspace/ui/static/icon.svg)
is served by Gradio itself as the favicon and the installable app's icon.
"""

from __future__ import annotations

import html
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import gradio as gr

from workspace.engine.models import STARTER_MODEL
from workspace.services import Services
from workspace.serving import urls

ICON = Path(__file__).parent / "static" / "icon.svg"
# (label, address, the tab of the main page it opens there); Chat and Dashboard are pages of their own too.
NAV = [("Chat", "/chat", "chat"), ("Code", "/?tab=code", "code"), ("Study", "/?tab=study", "study"),
       ("Models", "/?tab=models", "models"), ("Dashboard", "/dashboard", "")]
LOGO = ('<svg class="ws-logo" viewBox="0 0 512 512" aria-hidden="true"><rect width="512" height="512" rx="112" '
        'fill="currentColor"/><path d="M128 152h256a40 40 0 0 1 40 40v128a40 40 0 0 1-40 40H232l-72 56v-56h-32a40 '
        '40 0 0 1-40-40V192a40 40 0 0 1 40-40z" fill="#fff"/></svg>')


def backend_words(services: Services) -> str:
    """What answers, as a user would say it: "Ollama on this PC, 4 models" / "built-in engine, starter model"."""
    backend = services.backend
    models = backend.models()
    if backend.kind == "embedded":
        if models == [STARTER_MODEL]:
            return "built-in engine, starter model"
        return f"built-in engine, {_count(len(models))}"
    where = "on this PC" if _is_loopback(backend.host) else f"at {backend.host}"
    return f"Ollama {where}, {_count(len(models))}"


def lan_urls(services: Services, scheme: str) -> list[str]:
    """The addresses other devices open (none when the app serves this machine only)."""
    server = services.settings.server
    return [u for u in urls(server.host, server.port, scheme == "https") if not _is_loopback(u)]


def header_html(services: Services, active: str, scheme: str = "http") -> str:
    links = "".join(f'<a href="{href}" data-tab="{tab}" class="ws-nav{" active" if name.lower() == active else ""}">'
                    f"{name}</a>" for name, href, tab in NAV)
    addresses = lan_urls(services, scheme)
    reach = ("Open from other devices: " + ", ".join(f"<code>{html.escape(u)}</code>" for u in addresses)
             if addresses else "This PC only (started with <code>--local</code>)")
    return (f'<div class="ws-header"><span class="ws-brand">{LOGO}<span>Local AI Workspace</span></span>'
            f'<nav class="ws-navs" aria-label="Views">{links}</nav>'
            f'<span class="ws-status" id="backend-status">{html.escape(backend_words(services))}'
            f'<span class="ws-reach"> · {reach}</span></span></div>')


def header(services: Services, demo: gr.Blocks, active: str, logout: bool) -> None:
    """The header row of one page; its status is refreshed on each page load (models come and go; the
    scheme the browser used decides whether the LAN addresses start with https)."""
    with gr.Row(elem_id="ws-header-row", equal_height=True):
        shown = gr.HTML(header_html(services, active), elem_id="backend-header", padding=False)
        if logout:
            gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="logout")

    def refresh(request: gr.Request):
        return header_html(services, active, request.request.url.scheme if request and request.request else "http")

    demo.load(refresh, None, shown, api_visibility="private", show_progress="hidden")


def _count(n: int) -> str:
    return f"{n} model" + ("" if n == 1 else "s")


def _is_loopback(address: str) -> bool:
    """For "http://host:port/", "host:port", "[::1]:port" or a bare host."""
    host = urlsplit(address if "://" in address else f"//{address}").hostname or ""
    if host in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


CSS = """
#ws-header-row { flex-wrap: nowrap; align-items: center; gap: 8px; }
.ws-header { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 16px; }
.ws-brand { display: inline-flex; align-items: center; gap: 8px; font-weight: 600; }
.ws-logo { width: 24px; height: 24px; color: #1f6feb; }
.ws-navs { display: flex; gap: 2px; flex-wrap: wrap; }
.ws-nav { padding: 10px 12px; border-radius: 8px; text-decoration: none; color: inherit; min-height: 44px;
          box-sizing: border-box; display: inline-flex; align-items: center; }
.ws-nav.active, .ws-nav:hover { background: var(--background-fill-secondary); }
/* Once the page picked a tab itself, the body says which: the header's own mark (re-rendered on load) yields
   (the tab's rule below is the more specific one; !important because Gradio adds a scoped copy of every rule,
   and the scoped `.ws-nav.active` would outrank a body rule). */
body[data-tab] .ws-nav.active:not(:hover) { background: none !important; }
body[data-tab="chat"] .ws-navs .ws-nav.ws-nav[data-tab="chat"],
body[data-tab="code"] .ws-navs .ws-nav.ws-nav[data-tab="code"],
body[data-tab="study"] .ws-navs .ws-nav.ws-nav[data-tab="study"],
body[data-tab="models"] .ws-navs .ws-nav.ws-nav[data-tab="models"] {
  background: var(--background-fill-secondary) !important; }
.ws-status { font-size: 0.85em; opacity: 0.8; }
/* Gradio's tab strip and page bar: the header's navigation replaces both. */
#main-tabs > .tab-wrapper, .nav-holder { display: none !important; }
/* The conversation fills the height left by the header, the toolbar and the message box. */
#conversation { height: calc(100dvh - var(--ws-chrome, 300px)) !important; min-height: 240px; }
#chat-main { gap: 6px; }
#chat-toolbar, #chat-actions { gap: 4px; flex-wrap: nowrap !important; }
#chat-toolbar > button { flex: 0 0 auto; min-width: 0 !important; }
#chat-actions > button { flex: 1 1 0; min-width: 0 !important; }
#chat-list { overflow-y: auto; }
#chat-list label { width: 100%; }
#chat-list label span { white-space: pre-line; display: -webkit-box; -webkit-line-clamp: 2;
                        -webkit-box-orient: vertical; overflow: hidden; }
#conversation .answer-meta { font-size: 0.8em; opacity: 0.65; }
/* Panels open over the page from the toolbar (one at a time), closed by their own button or Esc. */
.ws-panel { display: none !important; }
body[data-panel="search-panel"] #search-panel, body[data-panel="chat-panel"] #chat-panel,
body[data-panel="profile-panel"] #profile-panel, body[data-panel="backup-panel"] #backup-panel {
  display: flex !important; position: fixed; top: 0; right: 0; bottom: 0; width: min(520px, 100vw); z-index: 1000;
  overflow-y: auto; padding: 16px; background: var(--background-fill-primary);
  box-shadow: -4px 0 24px rgba(0, 0, 0, 0.25); }
@media (max-width: 768px) {
  .ws-reach, .ws-brand { display: none; }
  .ws-header { gap: 0 6px; }
  .ws-nav { padding: 10px 7px; }
  #chat-toolbar > button { flex: 1 1 0; }
  button, #chat-list label, .ws-nav { min-height: 44px; }
  .gradio-container { padding: 4px !important; }
}
"""

# Runs once per page. Every lookup is by the elem_ids above; nothing is fetched.
HEAD = """<meta name="theme-color" content="#1f6feb">
<script>
(() => {
  const narrow = () => window.matchMedia('(max-width: 768px)').matches;
  const sidebar = () => document.querySelector('#sidebar');
  const setSidebar = (open) => {
    const bar = sidebar();
    if (bar && bar.classList.contains('open') !== open) bar.querySelector('.toggle-button')?.click();
  };
  const visible = (el) => el && el.offsetParent !== null;
  window.wsPanel = (id) => {
    document.body.dataset.panel = document.body.dataset.panel === id ? '' : id;
    if (id && narrow()) setSidebar(false);
  };
  const selectTab = (tab) => {
    const button = [...document.querySelectorAll('#main-tabs button[role=tab]')]
      .find(b => b.innerText.trim().toLowerCase() === tab);
    if (!button) return false;
    button.click();
    document.body.dataset.tab = tab;  // survives the header's refresh (see the CSS)
    return true;
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a.ws-nav[data-tab]');
    if (link && link.dataset.tab && document.querySelector('#main-tabs') && selectTab(link.dataset.tab)) {
      event.preventDefault();
      history.replaceState(null, '', link.dataset.tab === 'chat' ? '/' : `/?tab=${link.dataset.tab}`);
    }
    // On a phone the sidebar covers the conversation: choosing a chat closes it.
    if (narrow() && event.target.closest('#chat-list label, #new-chat')) setTimeout(() => setSidebar(false), 50);
  });
  document.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'k') {
      const box = document.querySelector('#chat-filter textarea, #chat-filter input');
      if (!box) return;
      event.preventDefault();
      setSidebar(true);
      box.focus();
      box.select();
    } else if (event.key === 'Escape') {
      if (document.body.dataset.panel) { document.body.dataset.panel = ''; return; }
      // Stop only an answer still being written in the open chat (the list marks it).
      const open = document.querySelector('#chat-list input:checked')?.closest('label');
      const stop = document.querySelector('#stop');
      if (open && open.innerText.trim().startsWith('\u25cf') && visible(stop)) stop.click();
    }
  });
  // The conversation takes the height the rest of the page leaves (the header, the toolbar and the message
  // box vary with the screen's width and the message's lines).
  const fit = () => {
    const conv = document.querySelector('#conversation');
    const last = document.querySelector('#chat-actions');
    if (!visible(conv) || !last) return;
    const chrome = last.getBoundingClientRect().bottom + window.scrollY + 8 - conv.getBoundingClientRect().height;
    document.documentElement.style.setProperty('--ws-chrome', `${Math.ceil(chrome)}px`);
  };
  window.addEventListener('resize', fit);
  // A running answer keeps its place while the user reads above it. Gradio 6.31's Chatbot, after each update
  // that finds it near its end, scrolls to the end 300 ms later, even when the user scrolled up meanwhile; so
  // its autoscroll is off for the chat's conversation and the study tab's explanation (ui/chat.py, ui/study.py)
  // and this follows the end instead: on each change of the page, only while the user's last scroll (or
  // Gradio's Scroll down button) left that log at its end. Nothing is dispatched or held back: the updates go
  // on, only the scroll position is the user's. Whether the user follows is kept per Chatbot (by its id): Gradio
  // may build a new log element for the same Chatbot, whose position is then taken afresh.
  const LOGS = ['conversation', 'study-conversation'];
  const states = Object.fromEntries(LOGS.map((id) => [id, {following: true, pinned: 0, log: null}]));
  const chatbotOf = (el) => LOGS.find((id) => el?.matches?.(`#${id} [role=log]`));
  const atEnd = (log) => log.scrollHeight - log.scrollTop - log.clientHeight < 4;
  document.addEventListener('scroll', (event) => {
    const log = event.target, id = chatbotOf(log);
    if (!id) return;
    const state = states[id];
    if (state.log !== log) { state.log = log; state.pinned = log.scrollTop; }
    if (atEnd(log)) state.following = true;
    else if (log.scrollTop < state.pinned) state.following = false;  // the user went up
    // Down to near the end (Gradio's own 100 px): the answer may have grown while the user scrolled.
    else if (log.scrollTop > state.pinned && log.scrollHeight - log.scrollTop - log.clientHeight < 100) {
      state.following = true;
    }
    state.pinned = log.scrollTop;
  }, true);
  // A wheel turned up stops following at once (the scroll it starts is reported a frame later).
  document.addEventListener('wheel', (event) => {
    const log = event.target.closest?.('[role=log]'), id = chatbotOf(log);
    if (id && event.deltaY < 0 && !event.ctrlKey && log.scrollHeight > log.clientHeight) {
      states[id].following = false;
    }
  }, {capture: true, passive: true});
  const follow = () => {
    for (const id of LOGS) {
      const log = document.querySelector(`#${id} [role=log]`), state = states[id];
      if (!log || !log.clientHeight) { state.log = null; continue; }  // a hidden tab's log has no height
      // A new log element, or one shown again (the browser reset its scroll while hidden): its position now is
      // where it was left, not a scroll by the user.
      if (state.log !== log) { state.log = log; state.pinned = log.scrollTop; }
      if (!state.following) continue;
      // Moved up since, and not by a shorter content's clamp: the user's scroll, whose event is still to come.
      if (log.scrollTop < state.pinned - 1 && !atEnd(log)) { state.following = false; continue; }
      log.scrollTop = log.scrollHeight;
      state.pinned = log.scrollTop;
    }
  };
  new MutationObserver(follow).observe(document.body, {childList: true, subtree: true, characterData: true});
  document.addEventListener('load', follow, true);  // an image in a message grows it as it loads
  // Once the page is built: the sidebar starts closed on a phone, /?tab=x opens tab x, the conversation fits.
  const once = (selector, then) => {
    const run = () => {
      if (!document.querySelector(selector)) return false;
      requestAnimationFrame(then);
      return true;
    };
    if (run()) return;
    const watch = new MutationObserver(() => { if (run()) watch.disconnect(); });
    watch.observe(document.documentElement, {childList: true, subtree: true});
  };
  once('#sidebar.open .toggle-button', () => { if (narrow()) setSidebar(false); });
  once('#main-tabs button[role=tab]', () => {
    const tab = new URLSearchParams(location.search).get('tab');
    if (tab) selectTab(tab);
  });
  once('#chat-actions button', () => {
    fit();
    const resized = new ResizeObserver(fit);
    ['#message-box', '#ws-header-row', '#chat-toolbar', '#main-tabs'].forEach(s => {
      const el = document.querySelector(s);
      if (el) resized.observe(el);
    });
  });
})();
</script>"""
