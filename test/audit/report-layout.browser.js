// Runs inside the browser page (read as text by html-report.test.ts and evaluated there): the
// layout problems of the rendered HTML report at the current page width, and what was measured.
// A problem is one string naming the element and the numbers. Boxes are CSS pixels; 0.5 px slack.
() => {
  const SLACK = 0.5;
  const problems = [];
  const width = document.documentElement.clientWidth;
  const box = (element) => element.getBoundingClientRect();
  const shown = (element) => {
    const rect = box(element);
    return rect.width > 0 && rect.height > 0 && getComputedStyle(element).visibility !== 'hidden';
  };
  const intersect = (a, b) => a.left < b.right - SLACK && b.left < a.right - SLACK && a.top < b.bottom - SLACK && b.top < a.bottom - SLACK;
  const inside = (inner, outer) =>
    inner.left >= outer.left - SLACK && inner.right <= outer.right + SLACK && inner.top >= outer.top - SLACK && inner.bottom <= outer.bottom + SLACK;
  const name = (element) =>
    `${element.tagName.toLowerCase()}${element.className && typeof element.className === 'string' ? `.${element.className.replace(/ /g, '.')}` : ''} "${(element.textContent ?? '').trim().slice(0, 40)}"`;
  const rectText = (rect) => `[${rect.left.toFixed(1)}..${rect.right.toFixed(1)} x ${rect.top.toFixed(1)}..${rect.bottom.toFixed(1)}]`;
  /** Boxes of the text itself (not the element), line by line. */
  const textBoxes = (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return [...range.getClientRects()].filter((rect) => rect.width > 0);
  };

  // Nothing is wider than the page: no horizontal scrolling, no element past the right edge.
  if (document.documentElement.scrollWidth > width + SLACK) problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  for (const element of document.body.querySelectorAll('*')) {
    if (!shown(element)) continue;
    const rect = box(element);
    if (rect.left < -SLACK || rect.right > width + SLACK) problems.push(`${name(element)} runs past the page ${rectText(rect)} (page ${width})`);
  }
  for (const table of document.querySelectorAll('table')) {
    if (box(table).width > width + SLACK) problems.push(`${name(table)} is wider than the page`);
  }

  // Timeline row labels: text inside its cell, no overflow, never over another label or a bar.
  const labels = [...document.querySelectorAll('table.timeline tbody th')];
  const plots = [...document.querySelectorAll('table.timeline tbody td.plot svg')];
  for (const [index, label] of labels.entries()) {
    const cell = box(label);
    if (label.scrollWidth > label.clientWidth + SLACK) problems.push(`row label ${index} overflows its cell (${label.scrollWidth} > ${label.clientWidth})`);
    for (const text of textBoxes(label)) if (!inside(text, cell)) problems.push(`row label ${index} text ${rectText(text)} leaves its cell ${rectText(cell)}`);
    const next = labels[index + 1];
    if (next)
      for (const a of textBoxes(label)) for (const b of textBoxes(next)) if (intersect(a, b)) problems.push(`row labels ${index} and ${index + 1} overlap`);
    const plot = plots[index];
    if (plot && box(plot).left < cell.right - SLACK) problems.push(`row label ${index} reaches into its bar's plot`);
  }

  // Bars, ticks and grid lines: inside their SVG's viewport, never cut by its edge.
  let shapes = 0;
  for (const [index, svg] of plots.entries()) {
    const viewport = box(svg);
    for (const shape of svg.querySelectorAll('rect, line')) {
      if (getComputedStyle(shape).display === 'none') continue;
      shapes += 1;
      const rect = box(shape);
      if (!inside(rect, viewport)) problems.push(`row ${index}: ${shape.tagName} ${rectText(rect)} is clipped by the SVG ${rectText(viewport)}`);
    }
  }

  // Axis labels: the ones shown at this width lie inside their axis and overlap nothing.
  const axisLabels = [...document.querySelectorAll('table.timeline .axis span')].filter(shown);
  for (const label of axisLabels) {
    const axis = box(label.parentElement);
    const rect = box(label);
    if (rect.left < axis.left - SLACK || rect.right > axis.right + SLACK)
      problems.push(`axis label ${name(label)} ${rectText(rect)} runs past its axis ${rectText(axis)}`);
  }
  for (const [i, a] of axisLabels.entries()) {
    for (const b of axisLabels.slice(i + 1))
      if (intersect(box(a), box(b))) problems.push(`axis labels ${name(a)} and ${name(b)} overlap: ${rectText(box(a))} ${rectText(box(b))}`);
  }
  return { problems, measured: { width, rowLabels: labels.length, shapes, axisLabels: axisLabels.map((label) => label.textContent) } };
};
