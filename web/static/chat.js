() => {
  // Runs once when the chat loads: on the page, in /embed/ and inside a <gradio-app> component.
  const app = document.querySelector("gradio-app");
  const componentRoot = app && app.getAttribute("src");  // set only when a portal hosts the component

  // Screen readers should hear each message's text, not the Markdown Gradio copies into aria-label,
  // and buttons should be named in Chinese.
  const names = {"Copy message": "复制回答", "Copied message": "已复制", "chatbot conversation": "对话记录",
                 "Toggle Sidebar": "显示或隐藏侧栏", "Like": "有用", "Dislike": "没用", "Retry": "重新回答",
                 "Clear": "新对话", "清空对话": "新对话"};
  const tidy = (root) => {
    root.querySelectorAll('[data-testid="bot"][aria-label], [data-testid="user"][aria-label]')
      .forEach((el) => el.removeAttribute("aria-label"));
    root.querySelectorAll("[aria-label], button[title]").forEach((el) => {
      const label = el.getAttribute("aria-label");
      if (label && names[label]) el.setAttribute("aria-label", names[label]);
      const title = el.getAttribute("title");
      if (title && names[title]) el.setAttribute("title", names[title]);
    });
    root.querySelectorAll('#qa-chat .examples[role="list"]').forEach((list) => {
      list.setAttribute("role", "group");  // a "list" of buttons is not a list to assistive technology
      list.setAttribute("aria-label", "示例问题");
    });
    root.querySelectorAll('#qa-chat button.example[aria-label^="Select example"]')
      .forEach((button) => button.setAttribute("aria-label", "示例问题：" + button.textContent.trim()));
    root.querySelectorAll('#qa-chat a[href*="reports/"]:not([data-qa-cite])').forEach((link) => {
      link.dataset.qaCite = "1";
      if (/^\[\d+\]$/.test(link.textContent.trim())) {
        link.setAttribute("aria-label", "来源 " + link.textContent.trim().slice(1, -1) + "，在新窗口查看原文");
      }
    });
  };
  const scope = app || document.body;
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; tidy(scope); });
  }).observe(scope, {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label", "title"]});
  tidy(scope);

  // Inside a portal's <gradio-app>, a citation's relative link would resolve against the portal page:
  // point it at the app instead.
  if (componentRoot) {
    scope.addEventListener("click", (event) => {
      const link = event.target.closest && event.target.closest('a[href*="reports/"]');
      if (!link) return;
      const path = link.getAttribute("href").replace(/^(\.\.\/)+/, "");
      const root = new URL(componentRoot, location.href);
      link.href = new URL(path, new URL(root.pathname.replace(/embed\/?$/, ""), root)).href;
    }, true);
  }

  // On a phone the sidebar would cover the chat: start with it closed.
  const sidebar = document.querySelector("#qa-sidebar");
  if (sidebar && sidebar.classList.contains("open") && window.matchMedia("(max-width: 800px)").matches) {
    const toggle = sidebar.querySelector(".toggle-button");
    if (toggle) toggle.click();
  }
}
