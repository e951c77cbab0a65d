import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a vega-lite spec to an SVG document: vega-lite compiles it to a vega spec, and a headless vega
 * View (renderer 'none') writes the SVG. SVG output needs no `canvas` package: without it vega estimates text
 * widths from font size, which only affects layout (legend and label spacing), not the data.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
