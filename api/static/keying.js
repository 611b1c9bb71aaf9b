// The keying and settlement pages: zoom the page image (buttons, Alt+= / Alt+-), and pick
// "Giá trị khác" when its box is typed in. Keys for letters are never intercepted, so the
// operating system's Vietnamese input method (Telex, VNI) works in every field.
(function () {
  let scale = 1;
  const imgs = [...document.querySelectorAll("img.zoomable")];
  function zoom(by) {
    scale = Math.min(4, Math.max(1, scale * by));
    for (const img of imgs) img.style.width = (100 * scale) + "%";
  }
  const zin = document.getElementById("zoom-in"), zout = document.getElementById("zoom-out");
  if (zin) zin.addEventListener("click", () => zoom(1.25));
  if (zout) zout.addEventListener("click", () => zoom(0.8));
  document.addEventListener("keydown", e => {
    if (e.altKey && (e.key === "=" || e.key === "+")) { e.preventDefault(); zoom(1.25); }
    if (e.altKey && (e.key === "-" || e.key === "−")) { e.preventDefault(); zoom(0.8); }
  });
  // The line being keyed: zoom in and bring it to the middle of the frame.
  const frame = document.getElementById("zoom-frame");
  const mark = document.createElement("div");
  mark.className = "line-mark";
  if (frame) frame.appendChild(mark);
  function show(input) {
    const [page, , top, , height] = input.dataset.zoom.split(",").map(Number);
    const img = document.getElementById("page-" + page);
    if (!img || !frame) return;
    if (scale < 2) zoom(2 / scale);
    const y = img.offsetTop + img.offsetHeight * top / 100;
    const h = img.offsetHeight * height / 100;
    mark.style.top = y + "px"; mark.style.height = h + "px";
    mark.style.width = img.offsetWidth + "px"; mark.hidden = false;
    frame.scrollTop = Math.max(0, y + h / 2 - frame.clientHeight / 2);
    frame.scrollLeft = 0;
  }
  for (const input of document.querySelectorAll("input[data-zoom]")) {
    input.addEventListener("focus", () => show(input));
  }
  const first = document.activeElement;
  if (first && first.dataset && first.dataset.zoom) show(first);
  for (const other of document.querySelectorAll("input[name^='other:']")) {
    other.addEventListener("input", () => {
      const key = other.name.slice(6);
      const radio = document.querySelector(`input[type=radio][name='pick:${CSS.escape(key)}'][value=other]`);
      if (radio) radio.checked = true;
    });
  }
})();
