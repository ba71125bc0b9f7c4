/* The lineage explorer: draws the page's data (a JSON element) with cytoscape.
   Every string of the data came from a store: it reaches the page through textContent
   or a canvas label only, never as markup. */
(function () {
  'use strict';
  var body = document.body;
  document.addEventListener('securitypolicyviolation', function () {
    body.setAttribute('data-csp-violations', String(Number(body.getAttribute('data-csp-violations') || 0) + 1));
  });
  var data = JSON.parse(document.getElementById('lineage-data').textContent);
  var nodes = {}, groups = {}, groupOf = {}, groupsOf = {}, edgesOf = {};
  data.nodes.forEach(function (n) { nodes[n.id] = n; });
  data.groups.forEach(function (g) {
    groups[g.id] = g;
    g.members.forEach(function (m) { groupOf[m] = g.id; });
    (groupsOf[g.parent] = groupsOf[g.parent] || []).push(g.id);
  });
  data.edges.forEach(function (e) {
    (edgesOf[e.source] = edgesOf[e.source] || []).push(e);
    (edgesOf[e.target] = edgesOf[e.target] || []).push(e);
  });
  var focus = data.mode === 'focus';
  var expanded = [];

  // Control, invisible and bidirectional-override characters are shown as \uXXXX, not obeyed.
  var HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
  function clean(value) {
    return String(value === null || value === undefined ? '' : value).replace(HIDDEN, function (c) {
      return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }
  function shorten(text, most) { return text.length > most ? text.slice(0, most - 1) + '\u2026' : text; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = clean(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function marks(n) {
    var out = [];
    if (n.region) { out.push(n.region); }
    if (n.pii && n.pii.length) { out.push('PII ' + n.pii.length); } else if (n.pii) { out.push('PII'); }
    if (n.state === 'FAIL' || n.state === 'FAILED' || n.state === 'ABORT') { out.push(n.state.toLowerCase()); }
    if (n.broken) { out.push('quality'); } else if (n.at_risk) { out.push('at risk'); }
    if (n.dropped) { out.push('dropped'); }
    if (n.owners && n.owners.length) { out.push(shorten(n.owners[0], 24) + (n.owners.length > 1 ? ' +' + (n.owners.length - 1) : '')); }
    return out;
  }
  function failed(n) { return n.state === 'FAIL' || n.state === 'FAILED' || n.state === 'ABORT'; }

  function nodeElement(n) {
    var label = shorten(clean(n.name), 42);
    var badges = marks(n);
    if (badges.length) { label += '\n' + badges.join(' \u00b7 '); }
    var classes = [n.kind];
    if (n.root) { classes.push('root'); }
    if (n.pii) { classes.push('pii'); }
    if (n.dropped) { classes.push('dropped'); }
    if (failed(n)) { classes.push('failed'); }
    if (n.broken || n.at_risk) { classes.push('risk'); }
    var element = {group: 'nodes', data: {id: n.id, label: label}, classes: classes.join(' ')};
    if (!focus) { element.position = {x: n.x, y: n.y}; }
    return element;
  }
  function groupElements(g) {
    var node = {group: 'nodes', data: {id: g.id, label: '+' + g.members.length + ' more'}, classes: 'more'};
    var edge = {group: 'edges', data: {id: 'x' + g.id, source: g.side === 'down' ? g.parent : g.id,
                                       target: g.side === 'down' ? g.id : g.parent}, classes: 'to-more'};
    return [node, edge];
  }
  function edgeElement(e) {
    // A crossing is two edges (dataset -> job -> dataset): the rule is named once, on the way in.
    var named = e.rules.length && nodes[e.source] && nodes[e.source].kind === 'job';
    var element = {group: 'edges', data: {id: e.id, source: e.source, target: e.target,
                                          label: named ? clean(e.rules.join(', ')) : ''}};
    if (e.rules.length) { element.classes = 'violation'; }
    return element;
  }

  var visible = {};
  // With --column, the "+N more" nodes holding the column's path start open.
  var opened = {};
  (data.column ? data.column.nodes : []).forEach(function (id) {
    for (var g = groupOf[id]; g && !opened[g]; g = groupOf[groups[g].parent]) { opened[g] = true; }
  });
  function initialElements() {
    var out = [];
    data.nodes.forEach(function (n) {
      if (!n.hidden || opened[groupOf[n.id]]) { visible[n.id] = true; out.push(nodeElement(n)); }
    });
    data.edges.forEach(function (e) { if (visible[e.source] && visible[e.target]) { out.push(edgeElement(e)); } });
    data.groups.forEach(function (g) {
      if (opened[g.id]) { expanded.push(g.id); } else if (visible[g.parent]) { out = out.concat(groupElements(g)); }
    });
    return out;
  }

  var style = [
    {selector: 'node', style: {
      'label': 'data(label)', 'text-wrap': 'wrap', 'text-max-width': 166, 'text-overflow-wrap': 'anywhere', 'font-size': 11, 'color': '#1f2933',
      'text-valign': 'center', 'text-halign': 'center', 'width': 176, 'height': 42, 'shape': 'round-rectangle',
      'background-color': '#e8f0fe', 'border-width': 1.5, 'border-color': '#4a6fa5', 'min-zoomed-font-size': 6}},
    {selector: 'node.model', style: {'background-color': '#e6f4ea', 'border-color': '#2e7d32', 'shape': 'cut-rectangle'}},
    {selector: 'node.job', style: {'shape': 'round-tag', 'width': 150, 'height': 30, 'text-max-width': 132, 'background-color': '#f3e8fd',
                                   'border-color': '#7b1fa2', 'font-size': 10, 'color': '#4a148c'}},
    {selector: 'node.more', style: {'shape': 'round-rectangle', 'width': 96, 'height': 26, 'background-color': '#fff',
                                    'border-style': 'dashed', 'border-color': '#7a8794', 'color': '#33404f',
                                    'font-weight': 'bold'}},
    {selector: 'node.pii', style: {'border-color': '#c62828', 'border-width': 2.5}},
    {selector: 'node.risk', style: {'background-color': '#fff6dc'}},
    {selector: 'node.failed', style: {'background-color': '#fdd9d7', 'border-color': '#b71c1c', 'border-width': 2.5}},
    {selector: 'node.dropped', style: {'border-style': 'dashed', 'background-color': '#eceff1', 'color': '#607080'}},
    {selector: 'node.root', style: {'border-width': 4, 'border-color': '#f9a825', 'font-weight': 'bold',
                                    'underlay-color': '#f9a825', 'underlay-opacity': 0.25, 'underlay-padding': 6}},
    {selector: 'edge', style: {
      'width': 1.5, 'line-color': '#9aa5b1', 'target-arrow-color': '#9aa5b1', 'target-arrow-shape': 'triangle',
      'curve-style': focus ? 'bezier' : 'haystack', 'arrow-scale': 0.9}},
    {selector: 'edge.to-more', style: {'line-style': 'dashed', 'line-color': '#b8c0c8', 'target-arrow-color': '#b8c0c8'}},
    {selector: 'edge.violation', style: {
      'width': 3.5, 'line-color': '#d32f2f', 'target-arrow-color': '#d32f2f', 'label': 'data(label)',
      'font-size': 9, 'font-weight': 'bold', 'color': '#b71c1c', 'text-background-color': '#fff',
      'text-background-opacity': 0.9, 'text-background-padding': 2, 'text-rotation': 'autorotate',
      'text-margin-y': -8, 'z-index': 10, 'curve-style': 'bezier'}},
    {selector: 'node:parent', style: {'text-valign': 'top', 'text-halign': 'center', 'padding': 8,
                                      'text-margin-y': -4, 'background-opacity': 0.6}},
    {selector: 'node.column', style: {'shape': 'round-rectangle', 'width': 150, 'height': 20, 'font-size': 10,
                                      'background-color': '#fff', 'border-width': 1, 'border-color': '#9aa5b1'}},
    {selector: 'node.column.pii', style: {'border-color': '#c62828', 'color': '#a31515'}},
    {selector: 'node.column.masked', style: {'border-color': '#00695c', 'border-style': 'dotted'}},
    {selector: 'edge.column-edge', style: {'width': 1.2, 'line-color': '#5c6bc0', 'target-arrow-color': '#5c6bc0',
                                           'curve-style': 'bezier', 'arrow-scale': 0.7}},
    {selector: 'edge.column-edge.indirect', style: {'line-style': 'dashed', 'line-color': '#9fa8da',
                                                    'target-arrow-color': '#9fa8da'}},
    {selector: 'edge.column-edge.masking', style: {'line-style': 'dotted', 'width': 2, 'line-color': '#00897b',
                                                   'target-arrow-color': '#00897b'}},
    {selector: '.dim', style: {'opacity': 0.15}},
    {selector: 'node.match', style: {'overlay-color': '#1a73e8', 'overlay-opacity': 0.25, 'overlay-padding': 5}},
    {selector: 'node:selected', style: {'overlay-color': '#1a73e8', 'overlay-opacity': 0.18, 'overlay-padding': 7}}
  ];

  // An overview draws labels only when zoomed in far enough to read them: measuring thousands of
  // labels for the first frame cost seconds.
  var LABEL_ZOOM = 0.45;
  if (!focus) { style[0].style.label = ''; }
  function labelsForZoom() {
    var on = cy.zoom() >= LABEL_ZOOM;
    if (on === labelsOn) { return; }
    labelsOn = on;
    cy.style().selector('node').style('label', on ? 'data(label)' : '').update();
  }
  var labelsOn = focus;
  if (focus && window.cytoscapeDagre) { cytoscape.use(window.cytoscapeDagre); }
  var cy = cytoscape({
    container: document.getElementById('graph'), elements: initialElements(), style: style,
    layout: {name: 'null'}, wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 3,
    textureOnViewport: !focus, hideEdgesOnViewport: !focus, boxSelectionEnabled: false
  });

  function layoutOptions() {
    return focus ? {name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 110, edgeSep: 8, fit: true, padding: 24,
                    animate: false}
                 : {name: 'preset', fit: false,
                    positions: function (node) { var n = nodes[node.id()]; return {x: n.x, y: n.y}; }};
  }
  function ready() {
    body.setAttribute('data-nodes', String(cy.nodes().length));
    body.setAttribute('data-edges', String(cy.edges().length));
    body.setAttribute('data-expanded', expanded.join(' '));
    body.setAttribute('data-violations', String(cy.edges('.violation').length));
    if (!body.hasAttribute('data-ready-ms')) { body.setAttribute('data-ready-ms', String(Math.round(performance.now()))); }
    body.setAttribute('data-ready', '1');
  }
  // The overview is fitted from the positions it was given: cytoscape's own fit measures every
  // node's label first, which took most of the time to open a 9,000-node page.
  if (!focus) { cy.on('zoom', labelsForZoom); }
  function fitPositions() {
    var xs = data.nodes.map(function (n) { return n.x; }), ys = data.nodes.map(function (n) { return n.y; });
    if (!xs.length) { return; }
    // Node boxes reach ~90 px either side of their centre and ~25 above and below; 24 px of margin.
    var minX = Math.min.apply(null, xs) - 90, maxX = Math.max.apply(null, xs) + 90;
    var minY = Math.min.apply(null, ys) - 25, maxY = Math.max.apply(null, ys) + 25;
    var zoom = Math.min((cy.width() - 48) / (maxX - minX), (cy.height() - 48) / (maxY - minY), 1.5);
    cy.viewport({zoom: zoom, pan: {x: (cy.width() - (minX + maxX) * zoom) / 2, y: (cy.height() - (minY + maxY) * zoom) / 2}});
  }
  var first = true;
  function layout() {
    body.setAttribute('data-ready', '0');
    var run = cy.layout(layoutOptions());
    run.one('layoutstop', function () {
      if (!focus) { fitPositions(); }
      if (first && data.column) { columnPath(); }
      first = false;
      window.requestAnimationFrame(ready);
    });
    run.run();
  }
  // --column: the column's lineage lit, the rest dimmed.
  function columnPath() {
    var lit = cy.collection();
    data.column.nodes.forEach(function (id) { lit = lit.union(cy.getElementById(id)); });
    cy.elements().addClass('dim');
    lit.removeClass('dim');
    lit.edgesWith(lit).removeClass('dim');
    body.setAttribute('data-column', clean(data.column.name));
    body.setAttribute('data-highlighted', lit.map(function (n) { return n.id(); }).sort().join(' '));
  }

  function summary() {
    var all = data.nodes.length, drawn = cy.nodes().not('.more').length;
    var bad = data.edges.filter(function (e) { return e.rules.length; }).length;
    var root = data.root ? nodes[data.root] : null;
    document.getElementById('title').textContent = root
      ? clean('Lineage of ' + root.namespace + ' ' + root.name) : 'Lineage of the whole store';
    document.getElementById('summary').textContent = drawn + ' of ' + all + ' nodes drawn' +
      (bad ? ' \u00b7 ' + bad + ' edges violate a rule' : '') +
      (data.column ? ' \u00b7 column ' + clean(data.column.name) : '') +
      (data.as_of ? ' \u00b7 as of ' + clean(data.as_of) : '') + (data.policy ? ' \u00b7 policy ' + clean(String(data.policy).split('/').pop()) : '');
  }

  function expand(groupId) {
    var g = groups[groupId];
    if (!g || expanded.indexOf(groupId) >= 0) { return; }
    if (!visible[g.parent]) { reveal(g.parent, true); }
    expanded.push(groupId);
    cy.remove(cy.getElementById(groupId));
    var add = [];
    g.members.forEach(function (m) { visible[m] = true; add.push(nodeElement(nodes[m])); });
    g.members.forEach(function (m) {
      (edgesOf[m] || []).forEach(function (e) {
        if (visible[e.source] && visible[e.target] && !cy.getElementById(e.id).length &&
            !add.some(function (a) { return a.data.id === e.id; })) { add.push(edgeElement(e)); }
      });
      (groupsOf[m] || []).forEach(function (child) { add = add.concat(groupElements(groups[child])); });
    });
    cy.add(add);
    drawColumnEdges();
    summary();
    layout();
  }
  // Opens the "+N more" nodes that hold a node, outermost first.
  function reveal(id, quiet) {
    if (visible[id] || !groupOf[id]) { return; }
    expand(groupOf[id]);
    if (!quiet) { select(id); }
  }

  // A dataset opened into its columns: column nodes inside it, column edges between open datasets'
  // columns (or the dataset itself while it is closed). Ids are generated: c<index>:<node id>.
  var columnEdges = data.column_edges || [], columnsOpen = {};
  function columnId(node, index) { return 'c' + index + ':' + node; }
  function columnEnd(node, index) { return columnsOpen[node] ? columnId(node, index) : node; }
  function drawColumnEdges() {
    cy.remove(cy.edges('.column-edge'));
    var seen = {}, add = [];
    columnEdges.forEach(function (e, k) {
      if (!(columnsOpen[e[0]] || columnsOpen[e[2]]) || !visible[e[0]] || !visible[e[2]]) { return; }
      var source = columnEnd(e[0], e[1]), target = columnEnd(e[2], e[3]), key = source + ' ' + target;
      if (seen[key] || source === target) { return; }
      seen[key] = true;
      add.push({group: 'edges', data: {id: 'ce' + k, source: source, target: target},
                classes: 'column-edge ' + (e[5] === 'DIRECT' ? 'direct' : 'indirect') + (e[7] ? ' masking' : '')});
    });
    cy.add(add);
  }
  function toggleColumns(id) {
    var n = nodes[id];
    if (!n || !n.columns || !n.columns.length || !visible[id]) { return; }
    if (columnsOpen[id]) {
      delete columnsOpen[id];
      cy.remove(cy.getElementById(id).children());
    } else {
      columnsOpen[id] = true;
      var pii = {}, masked = {};
      (n.pii || []).forEach(function (c) { pii[c] = true; });
      (n.masked || []).forEach(function (c) { masked[c] = true; });
      cy.add(n.columns.map(function (c, i) {
        return {group: 'nodes', data: {id: columnId(id, i), parent: id, label: shorten(clean(c), 30)},
                classes: 'column' + (pii[c] ? (masked[c] ? ' masked' : ' pii') : '')};
      }));
    }
    drawColumnEdges();
    body.setAttribute('data-columns-open', Object.keys(columnsOpen).sort().join(' '));
    layout();
  }
  // Column lineage from one column both ways, over the page's column edges only.
  function columnReach(node, index) {
    var lit = {}, columns = {}, start = node + ' ' + index;
    lit[node] = true;
    columns[start] = true;
    [[0, 2], [2, 0]].forEach(function (ends) {
      var frontier = [start], seen = {};
      seen[start] = true;
      while (frontier.length) {
        var next = [];
        columnEdges.forEach(function (e) {
          var near = e[ends[0]] + ' ' + e[ends[0] + 1], far = e[ends[1]] + ' ' + e[ends[1] + 1];
          if (frontier.indexOf(near) >= 0 && !seen[far]) {
            seen[far] = true; columns[far] = true; lit[e[ends[1]]] = true;
            if (e[4]) { lit[e[4]] = true; }
            next.push(far);
          }
        });
        frontier = next;
      }
    });
    return {nodes: lit, columns: columns};
  }
  function highlightColumn(columnNodeId) {
    var parts = /^c(\d+):(.*)$/.exec(columnNodeId);
    var reach = columnReach(parts[2], Number(parts[1]));
    cy.elements().addClass('dim');
    var lit = cy.collection();
    Object.keys(reach.nodes).forEach(function (id) { lit = lit.union(cy.getElementById(id)); });
    Object.keys(reach.columns).forEach(function (key) {
      var at = key.lastIndexOf(' ');
      lit = lit.union(cy.getElementById(columnId(key.slice(0, at), Number(key.slice(at + 1)))));
    });
    lit.removeClass('dim');
    lit.edgesWith(lit).removeClass('dim');
    body.setAttribute('data-selected', columnNodeId);
    body.setAttribute('data-highlighted', Object.keys(reach.nodes).sort().join(' '));
    body.setAttribute('data-highlighted-columns', Object.keys(reach.columns).sort().join(','));
  }

  function highlight(id) {
    var node = cy.getElementById(id);
    var lit = node.union(node.predecessors()).union(node.successors());
    cy.elements().addClass('dim');
    lit.removeClass('dim');
    var ids = lit.nodes().map(function (n) { return n.id(); }).sort();
    body.setAttribute('data-selected', id);
    body.setAttribute('data-highlighted', ids.join(' '));
  }
  function clearHighlight() {
    cy.elements().removeClass('dim');
    body.removeAttribute('data-selected');
    body.setAttribute('data-highlighted', '');
  }

  function section(parent, title) { parent.appendChild(el('h3', title)); }
  function list(parent, items) {
    var ul = el('ul');
    items.forEach(function (item) { ul.appendChild(el('li', item)); });
    parent.appendChild(ul);
  }
  function details(n) {
    var box = document.getElementById('details');
    box.textContent = '';
    box.appendChild(el('h2', n.name));
    box.appendChild(el('p', n.namespace, 'ns'));
    var badges = el('div', null, 'badges');
    badges.appendChild(el('span', n.kind + (n.type ? ' \u00b7 ' + n.type : ''), 'badge'));
    if (n.root) { badges.appendChild(el('span', 'root', 'badge')); }
    if (n.region) { badges.appendChild(el('span', 'region ' + n.region, 'badge region')); }
    if (n.pii) { badges.appendChild(el('span', 'PII', 'badge pii')); }
    if (n.state) { badges.appendChild(el('span', 'last run ' + n.state, failed(n) ? 'badge failed' : 'badge')); }
    if (n.dropped) { badges.appendChild(el('span', 'dropped ' + n.dropped, 'badge dropped')); }
    if (n.broken) { badges.appendChild(el('span', 'breaks a quality rule', 'badge risk')); }
    if (n.at_risk) { badges.appendChild(el('span', 'at risk', 'badge risk')); }
    box.appendChild(badges);
    if (n.columns && n.columns.length && visible[n.id]) {
      var toggle = el('button', columnsOpen[n.id] ? 'Hide columns on the graph' : 'Show columns on the graph', 'columns');
      toggle.type = 'button';
      toggle.addEventListener('click', function () { toggleColumns(n.id); details(n); });
      box.appendChild(toggle);
    }
    section(box, 'Owners');
    box.appendChild(el('p', n.owners && n.owners.length ? n.owners.join(', ') : 'none recorded', n.owners && n.owners.length ? '' : 'hint'));
    if (n.columns) {
      section(box, 'Columns (' + n.columns.length + ')');
      var pii = {}, masked = {}, onPath = {};
      ((data.column && data.column.columns[n.id]) || []).forEach(function (c) { onPath[c] = true; });
      (n.pii || []).forEach(function (c) { pii[c] = true; });
      (n.masked || []).forEach(function (c) { masked[c] = true; });
      var ul = el('ul');
      n.columns.forEach(function (c) {
        var li = el('li', c);
        li.setAttribute('data-column', c);
        if (pii[c]) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', masked[c] ? 'PII masked' : 'PII', masked[c] ? 'badge masked' : 'badge pii')); }
        if (onPath[c]) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', 'on the path of ' + data.column.name, 'badge path')); }
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    if (n.violations) {
      section(box, 'Violations');
      list(box, n.violations.map(function (v) {
        return v.rule + ': ' + v.source + ' \u2192 ' + v.target + (v.columns ? ' (' + v.columns.join(' \u2192 ') + ')' : '');
      }));
      box.lastChild.className = 'violation';
    }
    if (n.broken) {
      section(box, 'Quality');
      list(box, n.broken.map(function (b) {
        return b.rule + (b.column ? ' on ' + b.column : '') + (b.value !== null && b.value !== undefined ? ': ' + b.value : '') +
          (b.limit !== null && b.limit !== undefined ? ' (limit ' + b.limit + ')' : '');
      }));
    }
    if (n.at_risk) {
      section(box, 'At risk');
      box.appendChild(el('p', n.at_risk.rule + (n.at_risk.column ? ' on ' + n.at_risk.column : '') + ' broken upstream in ' +
                          n.at_risk.source + ', ' + n.at_risk.depth + ' hop(s) away'));
    }
    if (n.runs && n.runs.length) {
      section(box, n.kind === 'job' ? 'Last runs' : 'Last writes');
      var table = el('table', null, 'runs');
      n.runs.forEach(function (r) {
        var tr = el('tr');
        tr.appendChild(el('td', r.state));
        tr.appendChild(el('td', r.started_at || ''));
        tr.appendChild(el('td', r.job || r.error || ''));
        table.appendChild(tr);
      });
      box.appendChild(table);
    }
    if (n.sql) { section(box, 'SQL' + (n.sql_dialect ? ' (' + n.sql_dialect + ')' : '')); box.appendChild(el('pre', n.sql)); }
    section(box, 'From the command line');
    box.appendChild(el('pre', n.cli, 'cli'));
  }

  function select(id) {
    var n = nodes[id];
    if (!n) { return; }
    if (!visible[id]) { reveal(id, true); }
    var node = cy.getElementById(id);
    cy.elements().unselect();
    node.select();
    highlight(id);
    details(n);
  }

  cy.on('tap', 'node', function (event) {
    var id = event.target.id();
    if (groups[id]) { expand(id); } else if (event.target.hasClass('column')) { highlightColumn(id); } else { select(id); }
  });
  cy.on('tap', function (event) {
    if (event.target === cy) { cy.elements().unselect(); clearHighlight(); }
  });

  var results = document.getElementById('results');
  function search(text) {
    var query = text.trim().toLowerCase();
    cy.nodes().removeClass('match');
    results.textContent = '';
    if (!query) { results.hidden = true; body.setAttribute('data-search', ''); return []; }
    var found = data.nodes.filter(function (n) {
      if (String(n.name).toLowerCase().indexOf(query) >= 0) { return true; }
      return (n.columns || []).some(function (c) { return String(c).toLowerCase().indexOf(query) >= 0; });
    }).map(function (n) { return n.id; }).sort();
    found.forEach(function (id) { cy.getElementById(id).addClass('match'); });
    found.slice(0, 200).forEach(function (id) {
      var n = nodes[id], li = el('li'), button = el('button', n.name + (visible[id] ? '' : ' (collapsed)'));
      button.type = 'button';
      button.setAttribute('data-id', id);
      button.addEventListener('click', function () { select(id); });
      li.appendChild(button);
      results.appendChild(li);
    });
    results.hidden = false;
    body.setAttribute('data-search', found.join(' '));
    return found;
  }
  document.getElementById('search').addEventListener('input', function (event) { search(event.target.value); });

  // For tests and scripts: where a node is drawn (page coordinates), and the page's actions.
  window.lineageExplorer = Object.freeze({
    position: function (id) {
      var node = cy.getElementById(id), box = cy.container().getBoundingClientRect();
      if (!node.length) { return null; }
      var p = node.renderedPosition();
      return {x: box.left + p.x, y: box.top + p.y};
    },
    classes: function (id) { return cy.getElementById(id).classes(); },
    label: function (id) { return cy.getElementById(id).style('label'); },
    zoom: function (level) { if (level) { cy.zoom(level); } return cy.zoom(); },
    dimmed: function () { return cy.nodes('.dim').map(function (n) { return n.id(); }).sort(); },
    select: select, expand: expand, search: search, toggleColumns: toggleColumns
  });

  summary();
  layout();
  if (data.root) { details(nodes[data.root]); }
}());
