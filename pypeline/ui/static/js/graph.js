/* The job graph page: the DAG drawn with cytoscape.js (zoom, pan), positions from layout.js, details on click. */
"use strict";

window.pypeScriptStart = performance.now();
(() => {
  const {h, getJSON, urls, crumbs, tabs, showError, pre} = pype;
  const job = pype.job;
  const main = document.getElementById("main");
  const state = {graph: null, env: null, environments: [], cy: null, mini: null, mode: "full", layout: "dagre"};
  crumbs([["Jobs", "/"], [job, null]]);

  const EDGE_LABELS = 300;
  const OVERVIEW_W = 170, OVERVIEW_H = 54;
  const TYPE_SHAPE = {source: "round-rectangle", mod: "rectangle", sink: "barrel", solo: "hexagon"};

  /** The overview of a big job: few rules, no mappers but the label (cytoscape styles each element once). */
  function overviewStyle() {
    return [
      {selector: "node", style: {
        "shape": "round-rectangle", "width": OVERVIEW_W, "height": OVERVIEW_H, "label": "data(label)", "text-wrap": "wrap",
        "text-valign": "center", "text-halign": "center", "font-size": 11, "color": "#1d2330",
        "min-zoomed-font-size": 7, "background-color": "#eef1f6", "border-color": "#8a94a6", "border-width": 1.2,
      }},
      {selector: "edge", style: {"curve-style": "straight", "target-arrow-shape": "triangle", "width": 2,
        "line-color": "#1f5fa6", "target-arrow-color": "#1f5fa6"}},
      {selector: "edge.c-iterate", style: {"width": 4.5, "line-color": "#6a3fb0", "target-arrow-color": "#6a3fb0"}},
      {selector: "edge.c-start", style: {"line-color": "#0f7a74", "target-arrow-color": "#0f7a74", "line-style": "dashed"}},
      {selector: ":selected", style: {"border-color": "#e0a100", "border-width": 3.5, "line-color": "#e0a100",
        "target-arrow-color": "#e0a100"}},
    ];
  }

  function style(big) {
    return [
      {selector: "node", style: {
        "label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
        "font-size": 11, "font-family": "system-ui, sans-serif", "color": "#1d2330",
        "border-width": 1.5, "min-zoomed-font-size": big ? 7 : 4,
      }},
      {selector: "node[w]", style: {"width": "data(w)", "height": "data(h)"}},
      {selector: "node.module", style: {"shape": "data(shape)", "background-color": "#e9eef8", "border-color": "#53627c"}},
      {selector: "node.t-source", style: {"background-color": "#e3f4e6", "border-color": "#2e7d3c"}},
      {selector: "node.t-mod", style: {"background-color": "#e6eefb", "border-color": "#2c5fb3"}},
      {selector: "node.t-sink", style: {"background-color": "#fdeede", "border-color": "#b8620b"}},
      {selector: "node.t-solo", style: {"background-color": "#f1e8fa", "border-color": "#7a3fb0"}},
      {selector: "node.remote", style: {"border-style": "double", "border-width": 4}},
      {selector: "node.subflow", style: {
        "shape": "round-rectangle", "background-color": "#f7f8fa", "background-opacity": 0.7,
        "border-color": "#8a94a6", "border-style": "dashed", "border-width": 1.2,
        "text-valign": "top", "text-halign": "center", "text-margin-y": -4, "font-size": 11, "color": "#5a6478",
        "padding": 14,
      }},
      {selector: "node.subflow.collapsed", style: {
        "text-valign": "center", "text-margin-y": 0, "background-color": "#eef1f6", "border-style": "solid",
        "color": "#1d2330",
      }},
      {selector: "edge", style: {
        "curve-style": big ? "straight" : "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.9, "width": 1.3,
        "line-color": "#7d8799", "target-arrow-color": "#7d8799",
      }},
      {selector: "edge[label]", style: {
        "label": "data(label)", "font-size": 9, "text-background-color": "#ffffff", "text-background-opacity": 0.85,
        "text-background-padding": 1, "color": "#3a4254", "min-zoomed-font-size": big ? 8 : 5, "text-rotation": "autorotate",
      }},
      {selector: "edge.control", style: {
        "width": 2.4, "line-color": "#1f5fa6", "target-arrow-color": "#1f5fa6",
        "color": "#16457a", "font-weight": "bold", "font-size": 10,
      }},
      {selector: "edge.c-iterate", style: {"width": 4.5, "line-color": "#6a3fb0", "target-arrow-color": "#6a3fb0"}},
      {selector: "edge.c-start", style: {"line-color": "#0f7a74", "target-arrow-color": "#0f7a74", "line-style": "dashed"}},
      {selector: ":selected", style: {"border-color": "#e0a100", "border-width": 3.5, "line-color": "#e0a100",
        "target-arrow-color": "#e0a100"}},
    ];
  }

  function moduleNode(m, pos, parent) {
    return {group: "nodes", classes: `module t-${m.type}${m.backend !== "local" ? " remote" : ""}`, position: pos,
      data: {id: m.id, parent, kind: "module", label: `${m.id}\n${m.name}${m.backend !== "local" ? " @" + m.backend : ""}`,
        w: pypeLayout.moduleWidth(m), h: pypeLayout.NODE_H, shape: TYPE_SHAPE[m.type] || "rectangle"}};
  }

  function dataEdge(e, i) {
    return {group: "edges", classes: "data",
      data: {id: `d${i}`, source: e.src, target: e.dst, kind: "data", srcPort: e.src_port, dstPort: e.dst_port,
        label: `${e.src_port} → ${e.dst_port}`}};
  }

  function controlEdge(c, source, target, labelled) {
    const data = {id: `c${c.index}`, source, target, kind: "control", index: c.index};
    if (labelled) data.label = c.label;
    return {group: "edges", classes: `control c-${c.type}`, data};
  }

  function fullElements(graph) {
    const positions = pypeLayout.full(graph);
    const els = graph.subflows.map((sf) => ({group: "nodes", classes: "subflow",
      data: {id: `sf:${sf.id}`, kind: "subflow", subflow: sf.id, label: `sub flow ${sf.id}`}}));
    for (const m of graph.modules) els.push(moduleNode(m, positions.get(m.id), `sf:${m.subflow}`));
    graph.data.forEach((e, i) => els.push(dataEdge(e, i)));
    for (const c of graph.control) els.push(controlEdge(c, c.src, c.dst, true));
    return els;
  }

  function collapsedElements(graph, centres) {
    const subflowOf = new Map(graph.modules.map((m) => [m.id, m.subflow]));
    // Edge labels cost cytoscape a text measurement each when it starts: past EDGE_LABELS, a click shows them.
    const labelled = graph.control.length <= EDGE_LABELS;
    const els = graph.subflows.map((sf) => ({group: "nodes", classes: "subflow collapsed",
      position: centres ? centres.get(sf.id) : undefined,
      data: {id: `sf:${sf.id}`, kind: "subflow", subflow: sf.id, w: pypeLayout.collapsedWidth(sf), h: 54,
        label: `${sf.id}\n${sf.modules.length} module${sf.modules.length === 1 ? "" : "s"}`}}));
    for (const c of graph.control) {
      const a = subflowOf.get(c.src), b = subflowOf.get(c.dst);
      if (a && b) els.push(controlEdge(c, `sf:${a}`, `sf:${b}`, labelled));
    }
    return els;
  }

  function draw(graph) {
    const marks = {data: performance.now()};
    const big = graph.modules.length > pypeLayout.FULL_LIMIT;
    state.mode = big ? "collapsed" : "full";
    let elements, layout = {name: "preset", fit: false}, huge = false;
    if (big) {
      const centres = pypeLayout.collapsed(graph);
      if (!centres) {
        huge = true;
        state.layout = "breadthfirst";
        const roots = graph.subflows.filter((sf) => sf.root).map((sf) => `sf:${sf.id}`);
        layout = {name: "breadthfirst", directed: true, roots, spacingFactor: 0.9, fit: false, animate: false,
          nodeDimensionsIncludeLabels: false};
      }
      elements = collapsedElements(graph, centres);
    } else {
      elements = fullElements(graph);
    }
    marks.layout = performance.now();
    const container = document.getElementById("graph");
    const cy = cytoscape({
      container, elements, layout, style: huge ? overviewStyle() : style(big), minZoom: 0.02, maxZoom: 3,
      boxSelectionEnabled: false, autoungrabify: true, textureOnViewport: big, hideEdgesOnViewport: big,
      pixelRatio: big ? 1 : "auto",
    });
    const whole = fitWithoutLabels(cy, true);
    state.cy = cy;
    window.pypeCy = cy;  // the drawn graph, for the browser tests (and anyone curious in the console)
    marks.cytoscape = performance.now();
    cy.on("tap", "node", (ev) => select(ev.target));
    cy.on("tap", "edge", (ev) => showEdge(ev.target));
    document.getElementById("mode").textContent = big
      ? `${graph.modules.length} modules in ${graph.subflows.length} sub flows: shown collapsed (click a sub flow to open it)` +
        `${whole ? "" : ", from the top ('fit' shows all)"}; layout: ${state.layout}`
      : `${graph.modules.length} modules in ${graph.subflows.length} sub flows` +
        `${whole ? "" : ", from the top ('fit' shows all)"}; layout: dagre`;
    cy.one("render", () => requestAnimationFrame(() => {
      // What the browser tests measure: time from navigation to the first drawn frame, and its parts.
      window.pypeGraph = {ready: performance.now(), mode: state.mode, layout: state.layout,
        nodes: cy.nodes().length, edges: cy.edges().length, marks: {...marks, script: window.pypeScriptStart}};
      document.getElementById("graph").dataset.ready = "true";
    }));
  }

  /** The extent of the module / sub flow boxes, from their positions and sizes: asking cytoscape for a
   * bounding box would first compute every label's size, most of the cost of a big graph's first frame. */
  function boxesExtent(cy) {
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    cy.nodes().forEach((n) => {
      if (n.isParent()) return;
      const p = n.position(), w = (n.data("w") || OVERVIEW_W) / 2, h = (n.data("h") || OVERVIEW_H) / 2;
      x1 = Math.min(x1, p.x - w); x2 = Math.max(x2, p.x + w); y1 = Math.min(y1, p.y - h); y2 = Math.max(y2, p.y + h);
    });
    const m = 30;  // sub flow boxes and labels around the modules
    return x1 === Infinity ? {x1: 0, y1: 0, x2: 1, y2: 1, w: 1, h: 1}
      : {x1: x1 - m, y1: y1 - m, x2: x2 + m, y2: y2 + m, w: x2 - x1 + 2 * m, h: y2 - y1 + 2 * m};
  }

  /** Fit the graph's boxes into view (cy.fit() would measure every label first: slow on a big graph).
   * With `readable`, a graph that would shrink below legible size opens at its top (the roots), legible,
   * and 'fit' shows it whole. */
  function fitWithoutLabels(cy, readable) {
    const box = boxesExtent(cy);
    const pad = 24, w = cy.width(), h = cy.height();
    let zoom = Math.max(cy.minZoom(), Math.min(1.5, Math.min((w - 2 * pad) / box.w, (h - 2 * pad) / box.h)));
    if (readable && zoom < 0.35) {
      zoom = 0.7;
      cy.viewport({zoom, pan: {x: (w - zoom * (box.x1 + box.x2)) / 2, y: pad - zoom * box.y1}});
      return false;
    }
    cy.viewport({zoom, pan: {x: (w - zoom * (box.x1 + box.x2)) / 2, y: (h - zoom * (box.y1 + box.y2)) / 2}});
    return true;
  }

  function select(node) {
    const d = node.data();
    if (d.kind === "module") showModule(d.id);
    else if (d.kind === "subflow") showSubflow(d.subflow, node.hasClass("collapsed"));
  }

  function panel(...children) {
    pype.fill(document.getElementById("details"), ...children);
  }

  function field(label, value) {
    return [h("dt", {}, label), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
  }

  function portList(names, marked, mark) {
    if (!names.length) return "none";
    return h("span", {}, names.map((p, i) => [i ? ", " : "", h("code", {}, p), marked.includes(p) ? ` (${mark})` : ""]));
  }

  async function showModule(id) {
    state.shown = id;
    panel(h("p", {class: "muted"}, `Loading ${id}…`));
    let m;
    try {
      m = await getJSON(`${urls.api(job, "modules", id)}?context=${encodeURIComponent(state.env || "")}`);
    } catch (e) {
      panel(h("div", {class: "error-banner"}, `Cannot show module ${id}: ${e.message}`));
      return;
    }
    const configKeys = Object.keys(m.configs).sort();
    const configs = configKeys.length
      ? h("table", {class: "grid configs"},
          h("thead", {}, h("tr", {}, h("th", {}, "config"), h("th", {}, "as written"), h("th", {}, `rendered (${m.context})`))),
          h("tbody", {}, configKeys.map((k) => h("tr", {"data-config": k}, h("td", {}, h("code", {}, k)),
            h("td", {}, pre(m.configs[k])), h("td", {class: "rendered"}, pre(m.rendered[k]))))))
      : h("p", {class: "muted"}, "no configs");
    panel(
      h("h2", {id: "module-title"}, m.id),
      h("p", {}, h("span", {class: `chip t-${m.type}`}, m.type), " ", m.category || "", m.description ? ` — ${m.description}` : ""),
      h("dl", {class: "facts"},
        field("module", h("code", {}, m.name)), field("version", m.version), field("class", h("code", {}, m.module_path)),
        field("sub flow", m.subflow), field("backend", m.execution.backend || "local"),
        field("retries", m.retries), field("timeout", m.timeout), field("flow line", m.line),
        field("inputs", portList(m.inputs, m.optional_inputs, "optional")),
        field("outputs", portList(m.outputs, m.list_outputs, "list")),
        field("data in", m.data_in.join(", ")), field("data out", m.data_out.join(", ")),
        field("globals", m.globals === null ? "not declared" : m.globals.join(", ") || "none")),
      h("h3", {}, "Configs"), configs,
      h("p", {class: "muted small"}, "Secrets ({{vault...}}) are never fetched here: rendered, they show as ***."));
  }

  function showEdge(edge) {
    state.shown = null;
    const d = edge.data();
    if (d.kind === "data") {
      panel(h("h2", {}, "Data connection"), h("p", {}, h("code", {}, `${d.source}.${d.srcPort} - ${d.target}.${d.dstPort}`)));
      return;
    }
    const c = state.graph.control.find((x) => x.index === d.index);
    panel(h("h2", {}, "Control connection"), h("dl", {class: "facts"},
      field("from", h("code", {}, c.src)), field("to", h("code", {}, c.dst)), field("type", c.type),
      field("order", c.order), field("condition", c.condition ? h("code", {}, c.condition) : "none"),
      field("list port", c.port)));
  }

  function showSubflow(id, collapsed) {
    state.shown = null;
    const sf = state.graph.subflows.find((s) => s.id === id);
    const list = h("ul", {class: "modules"}, sf.modules.map((m) =>
      h("li", {}, h("a", {href: "#", onclick: (ev) => { ev.preventDefault(); showModule(m); }}, m))));
    const mini = collapsed ? h("div", {id: "mini", class: "mini"}) : null;
    panel(h("h2", {}, `Sub flow ${id}`), h("p", {class: "muted"}, `${sf.modules.length} modules, depth ${sf.depth}${sf.root ? ", a root" : ""}`), mini, list);
    if (collapsed) drawMini(sf);
  }

  function drawMini(sf) {
    const positions = pypeLayout.single(state.graph, sf.id);
    const members = new Set(sf.modules);
    const els = state.graph.modules.filter((m) => members.has(m.id))
      .map((m) => moduleNode(m, positions ? positions.get(m.id) : undefined));
    state.graph.data.forEach((e, i) => { if (members.has(e.src)) els.push(dataEdge(e, i)); });
    if (state.mini) state.mini.destroy();
    const big = !positions;
    state.mini = cytoscape({container: document.getElementById("mini"), elements: els, style: style(big),
      layout: big ? {name: "breadthfirst", directed: true, fit: true, padding: 12, animate: false}
        : {name: "preset", fit: true, padding: 12},
      autoungrabify: true, boxSelectionEnabled: false, textureOnViewport: big, hideEdgesOnViewport: big});
    state.mini.on("tap", "node", (ev) => showModule(ev.target.id()));
  }

  function find(text) {
    const cy = state.cy, graph = state.graph;
    const m = graph.modules.find((x) => x.id === text) || graph.modules.find((x) => x.id.includes(text));
    if (!m) return;
    const node = cy.getElementById(m.id).length ? cy.getElementById(m.id) : cy.getElementById(`sf:${m.subflow}`);
    cy.elements().unselect();
    node.select();
    cy.animate({center: {eles: node}, zoom: Math.max(cy.zoom(), 0.9)}, {duration: 200});
    showModule(m.id);
  }

  function header(summary) {
    const envSelect = h("select", {id: "context", onchange: (ev) => {
      state.env = ev.target.value;
      if (state.shown) showModule(state.shown);
    }},
      summary.environments.map((e) => h("option", {value: e}, e)));
    state.env = summary.environments.includes("default") ? "default" : summary.environments[0];
    envSelect.value = state.env;
    const search = h("input", {id: "find", type: "search", placeholder: "find a module id",
      onkeydown: (ev) => { if (ev.key === "Enter") find(ev.target.value.trim()); }});
    const legend = h("div", {class: "legend"},
      ["source", "mod", "sink", "solo"].map((t) => h("span", {class: `chip t-${t}`}, t)),
      h("span", {class: "chip line-data"}, "data: port → port"),
      h("span", {class: "chip line-control"}, "control (order|condition)"),
      h("span", {class: "chip line-iterate"}, "iterate"), h("span", {class: "chip line-start"}, "start"));
    return [
      h("div", {class: "title-row"}, h("h1", {}, summary.name, summary.version ? h("span", {class: "version"}, ` v${summary.version}`) : null), tabs("graph")),
      ...summary.warnings.map((w) => h("div", {class: "warning"}, "⚠ ", w)),
      h("div", {class: "toolbar"}, h("label", {}, "context ", envSelect), search,
        h("button", {type: "button", onclick: () => state.cy && fitWithoutLabels(state.cy, false)}, "fit"),
        h("span", {id: "mode", class: "muted small"}), legend),
    ];
  }

  Promise.all([getJSON(urls.api(job)), getJSON(urls.api(job, "graph"))]).then(([summary, graph]) => {
    state.graph = graph;
    pype.fill(main, ...header(summary), h("div", {class: "graph-layout"},
      h("div", {id: "graph", class: "graph"}),
      h("aside", {id: "details", class: "details"}, h("p", {class: "muted"}, "Click a module, a sub flow or a connection."))));
    draw(graph);
  }, (e) => showError(`Cannot show job ${job}: ${e.message}`));
})();
