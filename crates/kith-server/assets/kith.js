// Enhancements only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A page opened by a search keeps the reader in the search box.
  const q = document.getElementById("q");
  if (q && q.value) q.focus();
});
