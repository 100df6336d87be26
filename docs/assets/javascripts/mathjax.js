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

// Material's instant navigation swaps pages without a reload: typeset each new page.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.startup && MathJax.startup.output && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
