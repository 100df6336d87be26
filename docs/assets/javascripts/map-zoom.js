/* Zoom and pan for the exercise maps (.rt-map) on the roadmap and stage pages.
 *
 * Each map gets a toolbar (zoom in, zoom out, reset) and a viewport that clips its contents, so a
 * zoomed map never widens the page; Ctrl/Cmd + wheel zooms around the pointer, dragging pans.
 * At the default zoom the map looks exactly as laid out by the CSS. No library, nothing fetched.
 */
(function () {
  "use strict";

  var MIN = 0.4, MAX = 3, STEP = 1.25, DRAG = 4;  // DRAG: pixels before a press becomes a pan

  function clamp(s) { return Math.min(MAX, Math.max(MIN, s)); }

  function button(label, text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "rt-map-btn";
    b.setAttribute("aria-label", label);
    b.title = label;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function setup(map) {
    if (map.dataset.rtZoom) return;  // instant navigation may hand us the same page again
    map.dataset.rtZoom = "1";
    var view = document.createElement("div");
    view.className = "rt-map-view";
    var inner = document.createElement("div");
    inner.className = "rt-map-inner";
    while (map.firstChild) inner.appendChild(map.firstChild);
    view.appendChild(inner);

    var s = 1, x = 0, y = 0;
    function apply() {
      inner.style.transform = "translate(" + x + "px, " + y + "px) scale(" + s + ")";
      map.classList.toggle("rt-map-zoomed", s !== 1 || x !== 0 || y !== 0);
    }
    // zoom to scale `to` keeping the point (px, py) of the viewport where it is
    function zoomAt(to, px, py) {
      to = clamp(to);
      x = px - (px - x) * to / s;
      y = py - (py - y) * to / s;
      s = to;
      apply();
    }
    function zoomCentre(factor) { zoomAt(s * factor, view.clientWidth / 2, view.clientHeight / 2); }

    var bar = document.createElement("div");
    bar.className = "rt-map-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Map zoom");
    bar.appendChild(button("Zoom in", "+", function () { zoomCentre(STEP); }));
    bar.appendChild(button("Zoom out", "\u2212", function () { zoomCentre(1 / STEP); }));
    bar.appendChild(button("Reset zoom", "\u21ba", function () { s = 1; x = 0; y = 0; apply(); }));
    map.appendChild(bar);
    map.appendChild(view);

    view.addEventListener("wheel", function (e) {
      if (!(e.ctrlKey || e.metaKey)) return;  // a plain wheel scrolls the page as usual
      e.preventDefault();
      var r = view.getBoundingClientRect();
      zoomAt(s * Math.pow(STEP, -Math.sign(e.deltaY)), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    // A press becomes a pan only once it moves; a plain click on a box still follows its link.
    var press = null, dragged = false;
    view.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      press = { id: e.pointerId, cx: e.clientX, cy: e.clientY, x: x, y: y, moving: false };
      dragged = false;
    });
    view.addEventListener("pointermove", function (e) {
      if (!press || e.pointerId !== press.id) return;
      var dx = e.clientX - press.cx, dy = e.clientY - press.cy;
      if (!press.moving && Math.abs(dx) + Math.abs(dy) < DRAG) return;
      if (!press.moving) {
        press.moving = true;
        view.setPointerCapture(e.pointerId);
        view.classList.add("rt-map-dragging");
      }
      x = press.x + dx;
      y = press.y + dy;
      apply();
    });
    function release(e) {
      if (!press || e.pointerId !== press.id) return;
      dragged = press.moving;
      press = null;
      view.classList.remove("rt-map-dragging");
    }
    view.addEventListener("pointerup", release);
    view.addEventListener("pointercancel", release);
    // the click that ends a pan must not open the box it started on
    view.addEventListener("click", function (e) {
      if (dragged) { e.preventDefault(); e.stopPropagation(); dragged = false; }
    }, true);
    view.addEventListener("dragstart", function (e) { e.preventDefault(); });  // links drag natively
    apply();
  }

  function init() { document.querySelectorAll(".rt-map").forEach(setup); }

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);  // Material's instant navigation swaps pages without a load
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
