/*
 * The report QA chat as a floating widget. One tag on a portal page, nothing else:
 *
 *   <script src="https://APP/widget.js" data-title="工作报告问答" data-position="right"
 *           data-color="#1d4ed8" defer></script>
 *
 * adds a launcher button that opens the app's compact chat (/embed/) in a panel: full screen on phones
 * (600 px wide or less), a side panel on wider screens. Everything lives in a shadow root, so the
 * portal's CSS and ours never touch. Before the chat is framed, /embed/ping says whether the app lets
 * this page frame it; when it does not, the panel says which server setting to change instead of
 * showing a broken frame.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.reportQaWidget) return;  // a second copy of the tag adds nothing
  window.reportQaWidget = true;

  var DEFAULT_COLOR = "#1d4ed8";
  var PING_TIMEOUT_MS = 8000;
  var LOAD_TIMEOUT_MS = 20000;
  var appRoot = new URL(".", script.src);  // keeps the app's path prefix (/qa/) when it has one
  var embedUrl = new URL("embed/", appRoot).href;
  var pingUrl = new URL("embed/ping", appRoot).href + "?origin=" + encodeURIComponent(location.origin);
  var title = (script.getAttribute("data-title") || "").trim() || "工作报告问答";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var color = validColor(script.getAttribute("data-color"));

  function validColor(value) {
    value = (value || "").trim();
    if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value)) return DEFAULT_COLOR;
    return value.length === 4 ? "#" + value[1] + value[1] + value[2] + value[2] + value[3] + value[3] : value;
  }

  // Black or white text on the chosen colour, whichever contrasts more (WCAG relative luminance).
  function textColorOn(hex) {
    var channels = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? "#111827" : "#ffffff";
  }

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; }",
    ".launcher { position: fixed; bottom: 20px; SIDE: 20px; z-index: 2147483000; width: 56px; height: 56px;",
    "  border: 0; border-radius: 50%; background: var(--qa-color); color: var(--qa-text); cursor: pointer;",
    "  display: flex; align-items: center; justify-content: center; box-shadow: 0 4px 14px rgba(0,0,0,.28); }",
    ".launcher:hover { filter: brightness(1.08); }",
    ".launcher:focus-visible { outline: none; box-shadow: 0 0 0 3px #fff, 0 0 0 6px #111827; }",
    ".launcher[hidden], .panel[hidden] { display: none; }",
    ".panel { position: fixed; top: 0; bottom: 0; SIDE: 0; z-index: 2147483001; width: 440px; max-width: 100vw;",
    "  display: flex; flex-direction: column; background: #fff; box-shadow: 0 0 24px rgba(0,0,0,.22);",
    "  overscroll-behavior: contain; }",
    ".bar { flex: none; display: flex; align-items: center; justify-content: space-between; gap: 8px;",
    "  min-height: 48px; padding: 4px 4px 4px 16px; background: var(--qa-color); color: var(--qa-text); }",
    ".title { margin: 0; font: 600 16px/1.4 var(--qa-font); overflow: hidden; text-overflow: ellipsis;",
    "  white-space: nowrap; }",
    ".close { flex: none; width: 44px; height: 44px; border: 0; border-radius: 6px; background: transparent;",
    "  color: inherit; cursor: pointer; display: flex; align-items: center; justify-content: center; }",
    ".close:hover { background: rgba(127,127,127,.25); }",
    ".close:focus-visible { outline: 3px solid currentColor; outline-offset: -4px; }",
    ".body { position: relative; flex: 1; min-height: 0; background: #fff; }",
    "iframe { position: absolute; inset: 0; width: 100%; height: 100%; border: 0; display: block; }",
    ".message { padding: 20px 16px; font: 15px/1.7 var(--qa-font); color: #1f2937; }",
    ".message p { margin: 0 0 12px; }",
    ".message code { font-family: ui-monospace, Consolas, monospace; font-size: 14px; background: #f3f4f6;",
    "  padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }",
    ".message a { color: #1d4ed8; }",
    ".loading { position: absolute; inset: 0; padding: 20px 16px; font: 15px/1.7 var(--qa-font); color: #374151; }",
    "@media (max-width: 600px) { .panel { left: 0; right: 0; width: 100%; max-width: none; box-shadow: none; } }"
  ].join("\n").replace(/SIDE/g, side);

  var CHAT_ICON = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 ' +
    '2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 ' +
    '0 3 1.5 1.5 0 0 0 0-3z"/></svg>';
  var CLOSE_ICON = '<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>';

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  // --- the launcher and the panel --------------------------------------------------------------
  var host = element("div", {id: "report-qa-widget"});
  host.style.setProperty("--qa-color", color);
  host.style.setProperty("--qa-text", textColorOn(color));
  host.style.setProperty("--qa-font", '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif');
  var root = host.attachShadow({mode: "open"});
  root.appendChild(element("style", {}, CSS));

  var launcher = element("button", {type: "button", "class": "launcher", "aria-label": "打开" + title,
                                    title: title, "aria-expanded": "false", "aria-controls": "qa-panel"});
  launcher.innerHTML = CHAT_ICON;
  var panel = element("div", {id: "qa-panel", "class": "panel", role: "dialog", "aria-labelledby": "qa-title"});
  panel.hidden = true;
  var bar = element("div", {"class": "bar"});
  var heading = element("div", {id: "qa-title", "class": "title"}, title);
  var closeButton = element("button", {type: "button", "class": "close", "aria-label": "关闭" + title, title: "关闭"});
  closeButton.innerHTML = CLOSE_ICON;
  var body = element("div", {"class": "body"});
  bar.appendChild(heading);
  bar.appendChild(closeButton);
  panel.appendChild(bar);
  panel.appendChild(body);
  root.appendChild(launcher);
  root.appendChild(panel);

  var started = false;

  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    closeButton.focus();
    if (!started) {
      started = true;
      start();
    }
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  closeButton.addEventListener("click", close);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.stopPropagation();
      close();
    }
  });

  // --- loading the chat, or saying why it cannot be shown ----------------------------------------
  function showMessage(paragraphs) {
    var box = element("div", {"class": "message", role: "alert"});
    paragraphs.forEach(function (parts) {
      var paragraph = element("p");
      parts.forEach(function (part) {
        if (typeof part === "string") paragraph.appendChild(document.createTextNode(part));
        else paragraph.appendChild(element(part.tag, part.attributes || {}, part.text));
      });
      box.appendChild(paragraph);
    });
    body.replaceChildren(box);
  }

  var openInNewWindow = [{tag: "a", attributes: {href: embedUrl, target: "_blank", rel: "noopener"},
                          text: "在新窗口打开问答"}];

  function showRefusal(origin) {
    showMessage([
      ["问答服务没有允许本页（", {tag: "code", text: origin}, "）嵌入，所以无法在这里显示。"],
      ["请管理员在问答服务器上把本页地址加入 ", {tag: "code", text: "QA_FRAME_ANCESTORS"}, "，例如 ",
       {tag: "code", text: "QA_FRAME_ANCESTORS=\"'self'," + origin + "\""}, "，然后重启问答服务。"],
      openInNewWindow
    ]);
  }

  function showUnreachable() {
    showMessage([
      ["无法连接问答服务（", {tag: "code", text: appRoot.href}, "）。"],
      ["请确认服务已启动、本机能访问这个地址；若问答服务开启了登录，请先在新窗口打开并登录。"],
      openInNewWindow
    ]);
  }

  function showTimeout() {
    showMessage([["问答页面加载超时，请检查网络后重新打开，或在新窗口打开。"], openInNewWindow]);
  }

  // null: the app could not be reached (or refused to answer this page); otherwise its answer.
  function checkEmbedding() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, PING_TIMEOUT_MS);
    return fetch(pingUrl, {credentials: "omit", cache: "no-store", signal: controller.signal})
      .then(function (reply) { return reply.ok ? reply.json() : {frame_allowed: true}; })
      .catch(function () { return null; })
      .finally(function () { clearTimeout(timer); });
  }

  function addFrame() {
    var loading = element("div", {"class": "loading", role: "status"}, "正在打开问答……");
    var frame = element("iframe", {title: title, src: embedUrl, allow: "clipboard-write"});
    var timer = setTimeout(showTimeout, LOAD_TIMEOUT_MS);
    frame.addEventListener("load", function () {
      clearTimeout(timer);
      loading.remove();
    });
    body.replaceChildren(loading, frame);
  }

  function start() {
    body.replaceChildren(element("div", {"class": "loading", role: "status"}, "正在连接问答服务……"));
    checkEmbedding().then(function (check) {
      if (check === null) showUnreachable();
      else if (!check.frame_allowed) showRefusal(check.origin || location.origin);
      else addFrame();
    });
  }

  function attach() { document.body.appendChild(host); }
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
