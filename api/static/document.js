// The document page (api/templates/document.html): one page at a time with the pager and
// the keys PageDown/PageUp (or Alt+→/Alt+←) anywhere, →/← outside a field; choosing a field
// shows the page it was read on and its box on the image. Without this script every page is
// shown, one under another.
(function () {
  const pages = [...document.querySelectorAll("figure.page")];
  const texts = [...document.querySelectorAll(".page-text")];
  let now = 1;
  function show(n, focus) {
    if (n < 1 || n > pages.length) return;
    now = n;
    for (const f of pages) f.hidden = Number(f.dataset.page) !== n;
    for (const t of texts) t.hidden = Number(t.dataset.page) !== n;
    const label = document.getElementById("page-now");
    if (label) label.textContent = String(n);
    for (const a of document.querySelectorAll(".thumb-link")) {
      if (Number(a.dataset.page) === n) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (focus) pages[n - 1].scrollIntoView({block: "nearest"});
  }
  const start = /^#trang-(\d+)$/.exec(location.hash);
  show(start ? Number(start[1]) : 1, false);
  const prev = document.getElementById("prev-page"), next = document.getElementById("next-page");
  if (prev) prev.addEventListener("click", () => show(now - 1, true));
  if (next) next.addEventListener("click", () => show(now + 1, true));
  for (const a of document.querySelectorAll(".thumb-link")) {
    a.addEventListener("click", e => { e.preventDefault(); show(Number(a.dataset.page), true); });
  }
  document.addEventListener("keydown", e => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === "PageDown" || (e.altKey && e.key === "ArrowRight") || (!typing && e.key === "ArrowRight")) {
      if (pages.length > 1) { e.preventDefault(); show(now + 1, true); }
    } else if (e.key === "PageUp" || (e.altKey && e.key === "ArrowLeft") || (!typing && e.key === "ArrowLeft")) {
      if (pages.length > 1) { e.preventDefault(); show(now - 1, true); }
    }
  });
  // A field's box on its page
  function clearBoxes() {
    for (const r of document.querySelectorAll("rect.field-box")) r.classList.remove("on");
  }
  for (const input of document.querySelectorAll("input[data-box]")) {
    input.addEventListener("focus", () => {
      const n = Number(input.dataset.page), [x, y, w, h] = input.dataset.box.split(",");
      show(n, false);
      clearBoxes();
      const rect = pages[n - 1].querySelector("rect.field-box");
      rect.setAttribute("x", x); rect.setAttribute("y", y);
      rect.setAttribute("width", w); rect.setAttribute("height", h);
      rect.classList.add("on");
      const img = pages[n - 1].querySelector("img"), box = img.getBoundingClientRect();
      const top = box.top + box.height * Number(y) / 100;
      if (top < 0 || top > window.innerHeight) window.scrollBy(0, top - window.innerHeight / 3);
    });
    input.addEventListener("blur", clearBoxes);
  }
})();
