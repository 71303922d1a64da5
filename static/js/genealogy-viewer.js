// The graphical genealogy viewer (both trees), drawn with the vendored d3 (static/vendor/d3).
//
// Only the levels a person opened are in the DOM: a node's children come from the JSON endpoint
// a page at a time (a "more" node loads the next page), so the root of a million-person company
// draws as fast as a small team. Pan and zoom with d3-zoom (drag, wheel, pinch, or the buttons);
// a search finds a person in the downline and opens the path to them. The list and tree pages
// of the team stay the keyboard and screen-reader way through the same team.
//
// Stable hooks (the browser test drives these):
//   #genealogy-viewer[data-tree][data-root]       the drawing
//   g.viewer-node[data-number][data-expanded]     a person (click, Enter or Space: open card and
//                                                 expand / collapse)
//   g.viewer-more[data-parent]                    the next page of a parent's children
//   #viewer-card[data-card-number]                the selected person's card
//   #viewer-search-form, #viewer-search-input     search; results: #viewer-search-results
//                                                 button[data-number] (opens the path)
//   #viewer-zoom-in, #viewer-zoom-out, #viewer-reset
//   #genealogy-viewer[data-ready="true"]          no request in flight (set false at once on a click)
(function () {
  "use strict";
  const holder = document.getElementById("genealogy-viewer");
  const rootSource = document.getElementById("viewer-root-data");
  if (!holder || !rootSource || !window.d3) return;
  const d3 = window.d3;
  const tree = holder.dataset.tree;
  const urls = {
    children: holder.dataset.childrenUrl,
    card: holder.dataset.cardUrl,
    path: holder.dataset.pathUrl,
    search: holder.dataset.searchUrl,
    placement: holder.dataset.placementUrl,
  };
  const cardBox = document.getElementById("viewer-card");
  const statusBox = document.getElementById("viewer-status");
  const NODE_W = 200;
  const NODE_H = 58;
  const GAP_X = 70;
  const GAP_Y = 14;

  const volume = (cents) =>
    cents == null ? "—" : (cents / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });
  const count = (n) => (n == null ? "—" : Number(n).toLocaleString());

  function url(template, number, params) {
    const target = new URL(template.replace("/0/", "/" + number + "/"), window.location.origin);
    Object.entries(params || {}).forEach(([key, value]) => {
      if (value !== null && value !== undefined && value !== "") target.searchParams.set(key, value);
    });
    return target;
  }

  async function getJSON(target) {
    const response = await fetch(target, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error("The server answered " + response.status + ".");
    return response.json();
  }

  function say(text) {
    if (statusBox) statusBox.textContent = text;
  }

  // data-ready="true" once no request is in flight (children, card, search or path).
  let pending = 0;
  function busy(delta) {
    pending += delta;
    holder.dataset.ready = String(pending === 0);
  }

  // --- The loaded part of the tree ---------------------------------------------------------
  let rootNumber = Number(holder.dataset.root);
  let root;
  let byNumber;
  let selected = null;

  function makeNode(data) {
    return { data, kids: [], loaded: false, expanded: false, next: null, partial: false, loading: false };
  }

  function reset(rootData) {
    root = makeNode(rootData);
    rootNumber = rootData.number;
    byNumber = new Map([[rootData.number, root]]);
    holder.dataset.root = String(rootData.number);
  }

  function adopt(parent, data) {
    let node = byNumber.get(data.number);
    if (!node) {
      node = makeNode(data);
      byNumber.set(data.number, node);
    } else {
      node.data = data;
    }
    if (!parent.kids.includes(node)) parent.kids.push(node);
    return node;
  }

  async function loadPage(node) {
    if (node.loading) return;
    node.loading = true;
    busy(1);
    draw();
    try {
      const after = node.partial ? null : node.next;
      const data = await getJSON(url(urls.children, node.data.number, { tree, after }));
      if (node.partial) {
        // Opened by a path: the page brings the rest of the siblings, in their order.
        const kept = node.kids;
        node.kids = [];
        data.children.forEach((child) => adopt(node, child));
        kept.forEach((child) => {
          if (!node.kids.includes(child)) node.kids.push(child);
        });
        node.partial = false;
      } else {
        data.children.forEach((child) => adopt(node, child));
      }
      node.next = data.next;
      node.loaded = true;
      node.expanded = true;
      say(node.kids.length + " of " + count(node.data.children) + " shown under " + node.data.name + ".");
    } catch (error) {
      say("Could not load the children of " + node.data.name + ": " + error.message);
    } finally {
      node.loading = false;
      draw();
      busy(-1);
    }
  }

  async function toggle(node) {
    if (!node.data.children) return;
    if (node.expanded) {
      node.expanded = false;
      draw();
      return;
    }
    if (!node.loaded && !node.partial) {
      await loadPage(node);
    } else {
      node.expanded = true;
      draw();
    }
    fitAround(node);
  }

  // --- Drawing -----------------------------------------------------------------------------
  const svg = d3
    .select(holder)
    .append("svg")
    .attr("width", "100%")
    .attr("height", "100%")
    .attr("role", "presentation");
  const canvas = svg.append("g").attr("class", "viewer-canvas");
  const linkLayer = canvas.append("g").attr("fill", "none").attr("stroke", "#adb5bd");
  const nodeLayer = canvas.append("g");
  const zoom = d3
    .zoom()
    .scaleExtent([0.1, 2.5])
    .on("zoom", (event) => canvas.attr("transform", event.transform));
  svg.call(zoom).on("dblclick.zoom", null);

  function visibleKids(node) {
    if (!node.expanded) return null;
    const list = node.kids.map((kid) => ({ kind: "node", node: kid }));
    if (node.loading || node.partial || node.next !== null) list.push({ kind: "more", parent: node });
    return list.length ? list : null;
  }

  function layout() {
    const hierarchy = d3.hierarchy({ kind: "node", node: root }, (item) =>
      item.kind === "node" ? visibleKids(item.node) : null
    );
    d3.tree().nodeSize([NODE_H + GAP_Y, NODE_W + GAP_X])(hierarchy);
    return hierarchy;
  }

  function moreLabel(parent) {
    if (parent.loading) return "Loading…";
    if (parent.partial) return "Show all " + count(parent.data.children);
    const left = parent.data.children - parent.kids.length;
    return "Show more (" + count(Math.max(left, 0)) + " left)";
  }

  function secondLine(data) {
    const parts = ["#" + data.number];
    if (data.leg) parts.push(data.leg);
    parts.push(data.rank || "no rank yet");
    return parts.join(" · ");
  }

  function thirdLine(data) {
    return "PV " + volume(data.pv) + " · GV " + volume(data.gv) + " · " + count(data.people_below) + " below";
  }

  function draw() {
    const hierarchy = layout();
    const items = hierarchy.descendants();
    const links = hierarchy.links();
    linkLayer
      .selectAll("path")
      .data(links, (link) => keyOf(link.target))
      .join("path")
      .attr(
        "d",
        d3
          .linkHorizontal()
          .source((link) => [link.source.y + NODE_W, link.source.x])
          .target((link) => [link.target.y, link.target.x])
      );

    const people = items.filter((item) => item.data.kind === "node");
    const more = items.filter((item) => item.data.kind === "more");

    nodeLayer
      .selectAll("g.viewer-node")
      .data(people, keyOf)
      .join((enter) => {
        const g = enter
          .append("g")
          .attr("class", "viewer-node")
          .attr("tabindex", 0)
          .attr("role", "treeitem")
          .style("cursor", "pointer");
        g.append("title");
        g.append("rect").attr("width", NODE_W).attr("height", NODE_H).attr("rx", 6).attr("y", -NODE_H / 2);
        g.append("text").attr("class", "viewer-name").attr("x", 10).attr("y", -NODE_H / 2 + 17).attr("font-weight", 600).attr("font-size", 13);
        g.append("text").attr("class", "viewer-line2").attr("x", 10).attr("y", -NODE_H / 2 + 34).attr("font-size", 11).attr("fill", "#495057");
        g.append("text").attr("class", "viewer-line3").attr("x", 10).attr("y", -NODE_H / 2 + 49).attr("font-size", 11).attr("fill", "#495057");
        g.append("text").attr("class", "viewer-toggle").attr("aria-hidden", "true").attr("x", NODE_W - 16).attr("y", -NODE_H / 2 + 17).attr("font-size", 15).attr("font-weight", 700);
        g.on("click", (event, item) => activate(item.data.node));
        g.on("keydown", (event, item) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            activate(item.data.node);
          }
        });
        return g;
      })
      .attr("transform", (item) => "translate(" + item.y + "," + item.x + ")")
      .attr("data-number", (item) => item.data.node.data.number)
      .attr("data-expanded", (item) => String(item.data.node.expanded))
      .attr("data-has-children", (item) => String(item.data.node.data.children > 0))
      .attr("aria-expanded", (item) => (item.data.node.data.children ? String(item.data.node.expanded) : null))
      .attr("aria-selected", (item) => String(item.data.node === selected))
      .attr("aria-level", (item) => item.depth + 1)
      .call((g) => {
        // The accessible name is the full text (the lines drawn may be shortened).
        g.select("title").text((item) => {
          const data = item.data.node.data;
          return data.name + ", " + secondLine(data) + ", " + thirdLine(data);
        });
        g.select("rect")
          .attr("fill", (item) => (item.data.node === selected ? "#cfe2ff" : item.data.node.data.waiting ? "#fff3cd" : "#f8f9fa"))
          .attr("stroke", (item) => (item.data.node === selected ? "#0d6efd" : "#6c757d"));
        g.select(".viewer-name").text((item) => truncate(item.data.node.data.name, 24));
        g.select(".viewer-line2").text((item) => truncate(secondLine(item.data.node.data), 32));
        g.select(".viewer-line3").text((item) => truncate(thirdLine(item.data.node.data), 34));
        g.select(".viewer-toggle").text((item) =>
          item.data.node.data.children ? (item.data.node.expanded ? "−" : "+") : ""
        );
      });

    nodeLayer
      .selectAll("g.viewer-more")
      .data(more, keyOf)
      .join((enter) => {
        const g = enter.append("g").attr("class", "viewer-more").attr("tabindex", 0).attr("role", "button").style("cursor", "pointer");
        g.append("rect").attr("width", NODE_W * 0.75).attr("height", 30).attr("rx", 15).attr("y", -15).attr("fill", "#e9ecef").attr("stroke", "#adb5bd");
        g.append("text").attr("x", 14).attr("y", 5).attr("font-size", 12);
        g.on("click", (event, item) => loadPage(item.data.parent));
        g.on("keydown", (event, item) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            loadPage(item.data.parent);
          }
        });
        return g;
      })
      .attr("transform", (item) => "translate(" + item.y + "," + item.x + ")")
      .attr("data-parent", (item) => item.data.parent.data.number)
      .attr("aria-label", (item) => moreLabel(item.data.parent) + " under " + item.data.parent.data.name)
      .call((g) => g.select("text").text((item) => moreLabel(item.data.parent)));

    return hierarchy;
  }

  function keyOf(item) {
    return item.data.kind === "node" ? "n" + item.data.node.data.number : "m" + item.data.parent.data.number;
  }

  function truncate(text, length) {
    const value = String(text || "");
    return value.length > length ? value.slice(0, length - 1) + "…" : value;
  }

  function centerOn(node) {
    const hierarchy = layout();
    const item = hierarchy.descendants().find((entry) => entry.data.kind === "node" && entry.data.node === node);
    if (!item) return;
    svg.transition().duration(300).call(zoom.translateTo, item.y + NODE_W / 2, item.x);
  }

  // After a node opens: show it with as many of its children as fit (never below 35 %).
  function fitAround(node) {
    const hierarchy = layout();
    const item = hierarchy.descendants().find((entry) => entry.data.kind === "node" && entry.data.node === node);
    if (!item) return;
    const group = [item, ...(item.children || [])];
    const top = Math.min(...group.map((entry) => entry.x)) - NODE_H;
    const bottom = Math.max(...group.map((entry) => entry.x)) + NODE_H;
    const left = item.y - 20;
    const right = Math.max(...group.map((entry) => entry.y)) + NODE_W + 20;
    const width = holder.clientWidth || 800;
    const height = holder.clientHeight || 400;
    const scale = Math.max(0.35, Math.min(1, width / (right - left), height / (bottom - top)));
    const middle = (top + bottom) / 2;
    const shown = Math.min(bottom - top, height / scale);
    const anchor = item.children && shown < bottom - top ? top + shown / 2 : middle;
    const transform = d3.zoomIdentity
      .translate(width / 2, height / 2)
      .scale(scale)
      .translate(-(left + right) / 2, -anchor);
    svg.transition().duration(300).call(zoom.transform, transform);
  }

  function initialView() {
    const height = holder.clientHeight || 400;
    svg.call(zoom.transform, d3.zoomIdentity.translate(24, height / 2));
  }

  // --- The card ----------------------------------------------------------------------------
  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    });
    children.forEach((child) => node.append(child instanceof Node ? child : document.createTextNode(String(child))));
    return node;
  }

  async function showCard(node) {
    cardBox.dataset.cardNumber = String(node.data.number);
    cardBox.replaceChildren(element("div", { class: "card-body small text-muted" }, "Loading " + node.data.name + "…"));
    let data;
    busy(1);
    try {
      data = await getJSON(url(urls.card, node.data.number, { tree }));
    } catch (error) {
      cardBox.replaceChildren(element("div", { class: "card-body small text-danger" }, "Could not load the card: " + error.message));
      return;
    } finally {
      busy(-1);
    }
    if (cardBox.dataset.cardNumber !== String(data.number)) return; // another person was selected since
    const rank = data.rank ? data.rank + (data.rank_is_estimated ? " (estimated)" : "") : "No rank yet this month";
    const facts = element(
      "dl",
      { class: "row small mb-2" },
      element("dt", { class: "col-6" }, "Rank (paid as)"), element("dd", { class: "col-6", "data-card-rank": "" }, rank),
      element("dt", { class: "col-6" }, "PV this month"), element("dd", { class: "col-6", "data-card-pv": "" }, volume(data.pv)),
      element("dt", { class: "col-6" }, "GV this month"), element("dd", { class: "col-6", "data-card-gv": "" }, volume(data.gv)),
      element("dt", { class: "col-6" }, "People below"), element("dd", { class: "col-6", "data-card-people": "" }, count(data.people_below)),
      element("dt", { class: "col-6" }, "Status"), element("dd", { class: "col-6" }, data.status)
    );
    const body = element(
      "div",
      { class: "card-body" },
      element("h2", { class: "h6 mb-0" }, data.name),
      element("p", { class: "text-muted small" }, "#" + data.number),
      facts
    );
    if (data.legs.length) {
      const placement = tree === "placement";
      const head = element(
        "tr",
        {},
        element("th", { scope: "col" }, placement ? "Leg" : "Leg (recruit)"),
        ...(placement ? [element("th", { scope: "col", class: "text-end" }, "People")] : []),
        element("th", { scope: "col", class: "text-end" }, placement ? "Volume" : "GV"),
        ...(placement ? [element("th", { scope: "col", class: "text-end" }, "Carried")] : [])
      );
      const rows = data.legs.map((leg) =>
        element(
          "tr",
          { "data-card-leg": leg.label },
          element("td", {}, leg.label),
          ...(placement ? [element("td", { class: "text-end" }, count(leg.people))] : []),
          element("td", { class: "text-end" }, volume(leg.volume)),
          ...(placement ? [element("td", { class: "text-end" }, volume(leg.carried))] : [])
        )
      );
      body.append(
        element("table", { class: "table table-sm small mb-2" }, element("caption", {}, placement ? "Legs this period" : "Biggest legs this month"), element("thead", {}, head), element("tbody", {}, ...rows))
      );
      if (placement && data.legs.every((leg) => leg.carried == null)) {
        body.append(element("p", { class: "small text-muted" }, "Carried volume: — (the binary bonus that carries volume is not in the plan yet)."));
      }
    }
    const links = element("p", { class: "small mb-0 d-flex flex-wrap gap-2" }, element("a", { href: data.url }, "Details"));
    if (tree === "placement") links.append(element("a", { href: url(urls.placement, data.number).pathname }, "Placement page"));
    body.append(links);
    cardBox.replaceChildren(body);
  }

  async function activate(node) {
    selected = node;
    busy(1); // until the card and the children are both in
    try {
      draw();
      const card = showCard(node);
      await toggle(node);
      await card;
    } finally {
      busy(-1);
    }
  }

  // --- Search and paths --------------------------------------------------------------------
  const searchForm = document.getElementById("viewer-search-form");
  const searchInput = document.getElementById("viewer-search-input");
  const results = document.getElementById("viewer-search-results");

  async function search(query) {
    results.replaceChildren();
    if (!query.trim()) return;
    let data;
    busy(1);
    try {
      data = await getJSON(url(urls.search, 0, { tree, root: rootNumber, q: query }));
    } catch (error) {
      results.append(element("div", { class: "list-group-item small text-danger" }, "Search failed: " + error.message));
      return;
    } finally {
      busy(-1);
    }
    if (!data.results.length) {
      results.append(element("div", { class: "list-group-item small text-muted", "data-search-empty": "" }, "Nobody below matches “" + query + "”."));
      return;
    }
    data.results.forEach((person) => {
      const button = element(
        "button",
        { type: "button", class: "list-group-item list-group-item-action small", "data-number": person.number },
        person.name + " · #" + person.number + (person.leg ? " · " + person.leg : "")
      );
      button.addEventListener("click", () => openPath(person.number));
      results.append(button);
    });
    say(data.results.length + " found.");
  }

  async function openPath(number) {
    let data;
    busy(1);
    try {
      data = await getJSON(url(urls.path, number, { tree, root: rootNumber }));
    } catch (error) {
      say("Could not open the path: " + error.message);
      return;
    } finally {
      busy(-1);
    }
    if (!data.path.length) return;
    if (!data.reaches_root) reset(data.path[0]); // deeper than one path: start from its top
    let current = root;
    data.path.slice(1).forEach((step) => {
      const child = adopt(current, step);
      if (!current.loaded) current.partial = true;
      current.expanded = true;
      current = child;
    });
    selected = current;
    results.replaceChildren();
    draw();
    centerOn(current);
    showCard(current);
    say("Opened the path to " + current.data.name + ".");
  }

  if (searchForm) {
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      search(searchInput.value);
    });
  }
  const zoomIn = document.getElementById("viewer-zoom-in");
  const zoomOut = document.getElementById("viewer-zoom-out");
  const resetButton = document.getElementById("viewer-reset");
  if (zoomIn) zoomIn.addEventListener("click", () => svg.transition().duration(200).call(zoom.scaleBy, 1.3));
  if (zoomOut) zoomOut.addEventListener("click", () => svg.transition().duration(200).call(zoom.scaleBy, 1 / 1.3));
  if (resetButton) resetButton.addEventListener("click", () => initialView());

  reset(JSON.parse(rootSource.textContent));
  draw();
  initialView();
  busy(0);
})();
