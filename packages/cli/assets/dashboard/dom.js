// Small DOM helpers shared by the dashboard's modules.
export const $ = (selector) => document.querySelector(selector);

/** An HTML element with attributes and children (strings become text, never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

/** An SVG element with attributes and children. */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

/** "3 dead letters", "1 dead letter". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
