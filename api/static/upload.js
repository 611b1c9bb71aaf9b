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
  // One line of a list: the file's name as uploaded, then what became of it (in Vietnamese;
  // the English code only in the title, for support).
  function item(text, code) {
    const li = document.createElement("li");
    li.textContent = text;
    if (code) li.title = code;
    return li;
  }
  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
  }
  function showManifest(rows) {
    const section = document.getElementById("manifest-result");
    const body = document.querySelector("#manifest-rows tbody");
    body.innerHTML = "";
    section.hidden = !rows.length;
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.title = r.status;
      cell(tr, r.manifest_line);
      cell(tr, r.name);
      cell(tr, r.dossier_code);
      cell(tr, r.status_vi || r.status);
      cell(tr, r.message_vi);
      body.appendChild(tr);
    }
  }
  async function poll(url) {
    const bar = document.getElementById("bar");
    bar.hidden = false;
    const s = await (await fetch(url)).json();
    bar.max = Math.max(1, s.pages_total); bar.value = s.pages_done;
    const rejected = s.files.filter(f => f.status === "rejected");
    const done = s.files.filter(f => f.status !== "rejected");
    const rejectedList = document.getElementById("rejected");
    rejectedList.innerHTML = "";
    for (const f of rejected) {
      rejectedList.appendChild(item(f.name + ": " + f.message_vi, f.error ? f.error.code : ""));
    }
    const doneList = document.getElementById("done");
    doneList.innerHTML = "";
    for (const f of done) {
      doneList.appendChild(item(f.name + ": " + f.status_vi + " (" + f.pages + " trang)", f.status));
    }
    showManifest(s.manifest || []);
    status((s.status === "done" ? "Xong: " : "Đang xử lý: ") + s.pages_done + "/" + s.pages_total +
           " trang, " + s.files.length + "/" + s.files_total + " tệp");
    if (s.status === "running") setTimeout(() => poll(url), 1000);
    else if (s.status === "failed") status("Lỗi: " + (s.message_vi || s.error.message));
  }
  // Back from the list of uploads (/upload?id=…): follow that upload again.
  const follow = document.getElementById("upload-form").dataset.follow;
  if (follow) poll("/api/uploads/" + encodeURIComponent(follow));
})();
