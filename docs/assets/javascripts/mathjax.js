// MathJax 3 for pymdownx.arithmatex (generic mode): typeset only what arithmatex marked,
// i.e. $...$ and $$...$$ in Markdown. The library itself is vendored next to this file
// (assets/vendor/mathjax), so nothing is fetched from the internet.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "ams",
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    menuOptions: { settings: { assistiveMml: false } },
  },
  startup: {
    pageReady: () => MathJax.startup.defaultPageReady(),
  },
};

// With Material's instant navigation a page is swapped without a reload: typeset the new one.
// The first emission is the page MathJax typesets itself at startup; clearing its output cache
// then would drop the glyph styles of what it has just drawn (the equations would go blank).
if (typeof document$ !== "undefined") {
  let first = true;
  document$.subscribe(() => {
    if (first) {
      first = false;
      return;
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.output && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
