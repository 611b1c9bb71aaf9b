// The upload page (api/templates/upload.html): pick or drop files and folders, send them with
// the session's CSRF token, then follow the upload until it is done. Served by sohoa: the
// Content-Security-Policy allows no inline script.
(function () {
  const csrf = document.getElementById("upload-form").dataset.csrf;
  let picked = [];
  const drop = document.getElementById("drop");
  function add(list) { for (const f of list) picked.push(f); status(picked.length + " tệp đã chọn"); }
  function status(t) { document.getElementById("status").textContent = t; }
  document.getElementById("files").addEventListener("change", e => add(e.target.files));
  document.getElementById("folder").addEventListener("change", e => add(e.target.files));
  drop.addEventListener("dragover", e => { e.preventDefault(); });
  // A dropped folder arrives as an entry: walk it for its files, at any depth.
  function walk(entry) {
    if (entry.isFile) return new Promise(ok => entry.file(f => ok([f]), () => ok([])));
    const reader = entry.createReader();
    return new Promise(ok => {
      const all = [];
      (function more() {
        reader.readEntries(async entries => {
          if (!entries.length) { ok(all); return; }
          for (const e of entries) all.push(...await walk(e));
          more();
        }, () => ok(all));
      })();
    });
  }
  drop.addEventListener("drop", async e => {
    e.preventDefault();
    const entries = [...e.dataTransfer.items].map(i => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length) { add(e.dataTransfer.files); return; }
    for (const entry of entries) add(await walk(entry));
  });
  document.getElementById("upload-form").addEventListener("submit", async e => {
    e.preventDefault();
    const form = new FormData();
    for (const f of picked) form.append("files", f, f.name);
    const m = document.getElementById("manifest").files[0];
    if (m) form.append("manifest", m, m.name);
    status("Đang tải lên…");
    const r = await fetch("/api/uploads", {method: "POST", body: form, headers: {"X-CSRF-Token": csrf}});
    const body = await r.json();
    if (!r.ok) { status("Lỗi: " + (body.error ? body.error.message : r.status)); return; }
    poll(body.url);
  });
  async function poll(url) {
    const bar = document.getElementById("bar");
    bar.hidden = false;
    const s = await (await fetch(url)).json();
    bar.max = Math.max(1, s.pages_total); bar.value = s.pages_done;
    const rejected = s.files.filter(f => f.status === "rejected");
    const done = s.files.filter(f => f.status !== "rejected");
    document.getElementById("rejected").innerHTML = "";
    for (const f of rejected) {
      const li = document.createElement("li");
      li.textContent = f.file.split("/").pop() + ": " + f.error.message + " [" + f.error.code + "]";
      document.getElementById("rejected").appendChild(li);
    }
    document.getElementById("done").innerHTML = "";
    for (const f of done) {
      const li = document.createElement("li");
      li.textContent = f.file.split("/").pop() + ": " + f.status + " (" + f.pages + " trang)";
      document.getElementById("done").appendChild(li);
    }
    status((s.status === "done" ? "Xong: " : "Đang xử lý: ") + s.pages_done + "/" + s.pages_total +
           " trang, " + s.files.length + "/" + s.files_total + " tệp");
    if (s.status === "running") setTimeout(() => poll(url), 1000);
    else if (s.status === "failed") status("Lỗi: " + s.error.message);
  }
})();
