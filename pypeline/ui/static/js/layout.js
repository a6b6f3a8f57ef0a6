/* Positions for the job graph, computed by dagre (vendor/dagre.min.js) in two levels.
 *
 * A flow is a set of sub flows (connected by data connections inside, by control connections between them).
 * dagre lays out each sub flow on its own, left to right (data flows along its waves), and then lays out the
 * sub flows, as boxes of the size they came out at, top to bottom along the control connections. Two small
 * layouts instead of one large compound layout: dagre's compound mode takes seconds for a few hundred
 * modules, while this stays fast and keeps every sub flow in one box.
 *
 * Past FULL_LIMIT modules the page starts collapsed: one box per sub flow, laid out along the control
 * connections; a click opens a sub flow's modules (laid out the same way) beside the overview. Past
 * DAGRE_LIMIT sub flows, dagre alone takes longer than the page may (about a second per thousand boxes in
 * headless Chromium), so cytoscape's own breadth-first layout (layers by control depth, linear time) places
 * the overview instead; the page says which layout it used. dagre also recurses once per rank and overflows
 * the stack on very deep flows: that too falls back to breadth-first.
 */
"use strict";

const pypeLayout = (() => {
  const FULL_LIMIT = 300;
  const DAGRE_LIMIT = 300;
  const NODE_H = 46;

  /** Width of a module box for its two label lines (id, module name). */
  function moduleWidth(m) {
    return Math.max(110, Math.min(260, 7.2 * Math.max(m.id.length, (m.name || "").length + 2) + 28));
  }

  function newGraph(options, multigraph) {
    const g = new dagre.graphlib.Graph({multigraph: !!multigraph});
    g.setGraph(options);
    g.setDefaultEdgeLabel(() => ({}));
    return g;
  }

  /** One sub flow: module id -> {x, y} relative to the box's top-left corner, and the box size. */
  function layoutSubflow(sf, byId, data) {
    const members = sf.modules.map((id) => byId.get(id)).filter(Boolean);
    if (members.length === 1) {
      const w = moduleWidth(members[0]);
      return {pos: new Map([[members[0].id, {x: w / 2, y: NODE_H / 2}]]), width: w, height: NODE_H};
    }
    const g = newGraph({rankdir: "LR", nodesep: 24, ranksep: 110, marginx: 0, marginy: 0}, true);
    for (const m of members) g.setNode(m.id, {width: moduleWidth(m), height: NODE_H});
    data.forEach((e, i) => g.setEdge(e.src, e.dst, {}, `d${i}`));
    dagre.layout(g);
    const pos = new Map(members.map((m) => [m.id, {x: g.node(m.id).x, y: g.node(m.id).y}]));
    return {pos, width: g.graph().width, height: g.graph().height};
  }

  /** Sub flow id -> its data connections. */
  function dataBySubflow(graph, subflowOf) {
    const out = new Map(graph.subflows.map((sf) => [sf.id, []]));
    for (const e of graph.data) (out.get(subflowOf.get(e.src)) || []).push(e);
    return out;
  }

  /** Boxes of the given sizes along the control connections; sub flow id -> centre {x, y}. */
  function layoutBoxes(graph, sizes, subflowOf) {
    const g = newGraph({rankdir: "TB", nodesep: 40, ranksep: 70, marginx: 20, marginy: 20}, false);
    for (const sf of graph.subflows) g.setNode(sf.id, sizes.get(sf.id));
    for (const c of graph.control) {
      const a = subflowOf.get(c.src), b = subflowOf.get(c.dst);
      if (a && b && a !== b) g.setEdge(a, b);
    }
    dagre.layout(g);
    return new Map(graph.subflows.map((sf) => [sf.id, {x: g.node(sf.id).x, y: g.node(sf.id).y}]));
  }

  const PAD = 18, HEAD = 22;

  /** Every module placed: module id -> absolute {x, y}. */
  function full(graph) {
    const byId = new Map(graph.modules.map((m) => [m.id, m]));
    const subflowOf = new Map(graph.modules.map((m) => [m.id, m.subflow]));
    const data = dataBySubflow(graph, subflowOf);
    const inner = new Map(graph.subflows.map((sf) => [sf.id, layoutSubflow(sf, byId, data.get(sf.id) || [])]));
    const sizes = new Map([...inner].map(([id, l]) => [id, {width: l.width + 2 * PAD, height: l.height + 2 * PAD + HEAD}]));
    const centres = layoutBoxes(graph, sizes, subflowOf);
    const positions = new Map();
    for (const [id, l] of inner) {
      const c = centres.get(id), size = sizes.get(id);
      const left = c.x - size.width / 2 + PAD, top = c.y - size.height / 2 + PAD + HEAD;
      for (const [m, p] of l.pos) positions.set(m, {x: left + p.x, y: top + p.y});
    }
    return positions;
  }

  /** One box per sub flow: sub flow id -> centre {x, y}, or null when dagre should not or cannot take it. */
  function collapsed(graph) {
    if (graph.subflows.length > DAGRE_LIMIT) return null;
    const subflowOf = new Map(graph.modules.map((m) => [m.id, m.subflow]));
    const sizes = new Map(graph.subflows.map((sf) => [sf.id, {width: collapsedWidth(sf), height: 54}]));
    try {
      return layoutBoxes(graph, sizes, subflowOf);
    } catch (e) {
      if (e instanceof RangeError) return null;  // too deep for dagre's recursion: the caller falls back
      throw e;
    }
  }

  function collapsedWidth(sf) {
    return Math.max(140, Math.min(280, 7.2 * sf.id.length + 40));
  }

  /** One sub flow alone (the panel of the collapsed view): module id -> {x, y}, or null past FULL_LIMIT
   * modules or when dagre overflows (the caller then uses cytoscape's breadth-first layout). */
  function single(graph, subflowId) {
    const byId = new Map(graph.modules.map((m) => [m.id, m]));
    const sf = graph.subflows.find((s) => s.id === subflowId);
    if (sf.modules.length > FULL_LIMIT) return null;
    const members = new Set(sf.modules);
    try {
      return layoutSubflow(sf, byId, graph.data.filter((e) => members.has(e.src))).pos;
    } catch (e) {
      if (e instanceof RangeError) return null;
      throw e;
    }
  }

  return {FULL_LIMIT, DAGRE_LIMIT, NODE_H, moduleWidth, collapsedWidth, full, collapsed, single};
})();
