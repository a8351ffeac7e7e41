/**
 * A small SVG line chart (no chart service, no network): broadcast time against connections for
 * several series, with axes, gridlines and a legend. Deterministic output for the same input.
 */

export interface Series {
  name: string;
  color: string;
  points: Array<{ x: number; y: number }>;
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const width = 640;
  const height = 360;
  const margin = { left: 64, right: 20, top: 40, bottom: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((series) => series.points);
  const xMax = niceMax(Math.max(...all.map((point) => point.x)));
  const yMax = niceMax(Math.max(...all.map((point) => point.y)));
  const x = (value: number) => margin.left + (value / xMax) * plotW;
  const y = (value: number) => margin.top + plotH - (value / yMax) * plotH;
  const ticks = 5;
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(options.title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  for (let index = 0; index <= ticks; index++) {
    const yValue = (yMax / ticks) * index;
    const xValue = (xMax / ticks) * index;
    lines.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(yValue).toFixed(1)}" y2="${y(yValue).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 8}" y="${(y(yValue) + 4).toFixed(1)}" text-anchor="end">${yValue.toLocaleString("en-US")}</text>`,
      `<text x="${x(xValue).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle">${xValue.toLocaleString("en-US")}</text>`,
    );
  }
  lines.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  options.series.forEach((series, index) => {
    const path = series.points.map((point) => `${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`).join(" ");
    lines.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2.5" points="${path}"/>`);
    for (const point of series.points) {
      lines.push(
        `<circle cx="${x(point.x).toFixed(1)}" cy="${y(point.y).toFixed(1)}" r="3.5" fill="${series.color}"/>`,
      );
    }
    const legendY = margin.top + 8 + index * 18;
    lines.push(
      `<rect x="${margin.left + 12}" y="${legendY - 9}" width="14" height="4" fill="${series.color}"/>`,
      `<text x="${margin.left + 32}" y="${legendY - 3}">${escapeXml(series.name)}</text>`,
    );
  });
  lines.push("</svg>");
  return `${lines.join("\n")}\n`;
}
