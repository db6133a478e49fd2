// The leader page's organisation health panel (issue 13 §3-4): filled in by the next commit.
window.djmapHealth = window.djmapHealth || {};
