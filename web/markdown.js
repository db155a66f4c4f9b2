// A small Markdown renderer that cannot execute anything: it never parses HTML. It builds DOM
// nodes and puts every piece of text an agent wrote in with textContent, so markup, <script>,
// event attributes and the like stay visible text. Links are kept only for http(s) URLs and
// open in a new tab without a referrer or an opener; images become links.
//
// Supported: headings, paragraphs, fenced and indented code, block quotes, lists, horizontal
// rules, and inline code, **strong**, *emphasis*, ~~strike~~ and [links](https://...).

export function renderMarkdown(text) {
  const root = document.createElement("div");
  root.className = "md";
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)/);
    if (fence) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      root.append(codeBlock(body.join("\n"), fence[2]));
      continue;
    }
    if (/^\s*$/.test(line)) {
      i++;
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/);
    if (heading) {
      const h = document.createElement(`h${Math.min(heading[1].length + 2, 6)}`);
      appendInline(h, heading[2]);
      root.append(h);
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      root.append(document.createElement("hr"));
      i++;
      continue;
    }
    if (/^ {4}|^\t/.test(line)) {
      const body = [];
      while (i < lines.length && (/^ {4}|^\t/.test(lines[i]) || /^\s*$/.test(lines[i]))) body.push(lines[i++].replace(/^ {4}|^\t/, ""));
      root.append(codeBlock(body.join("\n").replace(/\n+$/, ""), ""));
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      const quote = document.createElement("blockquote");
      quote.append(...renderMarkdown(body.join("\n")).childNodes);
      root.append(quote);
      continue;
    }
    const item = line.match(/^\s*([-*+]|\d+[.)])\s+/);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const list = document.createElement(ordered ? "ol" : "ul");
      while (i < lines.length) {
        const m = lines[i].match(/^\s*([-*+]|\d+[.)])\s+(.*)$/);
        if (!m || /\d/.test(m[1]) !== ordered) break;
        const li = document.createElement("li");
        let content = m[2];
        i++;
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) content += " " + lines[i++].trim();
        appendInline(li, content);
        list.append(li);
      }
      root.append(list);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|\s*(```|~~~)|\s*>|\s*([-*+]|\d+[.)])\s+)/.test(lines[i])) paragraph.push(lines[i++].trim());
    const p = document.createElement("p");
    appendInline(p, paragraph.join("\n"));
    root.append(p);
  }
  return root;
}

function codeBlock(body, language) {
  const pre = document.createElement("pre");
  const code = document.createElement("code");
  if (language) code.dataset.language = language;
  code.textContent = body;
  pre.append(code);
  return pre;
}

// Inline spans, outermost first; text between them goes in as text nodes.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|~~([\s\S]+?)~~|\*([^*\s][\s\S]*?)\*|_([^_\s][\s\S]*?)_|!?\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)|\n/g;

function appendInline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    if (m[0] === "\n") {
      parent.append(document.createElement("br"));
    } else if (m[1]) {
      const code = document.createElement("code");
      code.textContent = m[2].trim() || m[2];
      parent.append(code);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      parent.append(wrap("strong", m[3] ?? m[4]));
    } else if (m[5] !== undefined) {
      parent.append(wrap("del", m[5]));
    } else if (m[6] !== undefined || m[7] !== undefined) {
      parent.append(wrap("em", m[6] ?? m[7]));
    } else {
      parent.append(link(m[8], m[9]));
    }
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

function wrap(tag, text) {
  const element = document.createElement(tag);
  appendInline(element, text);
  return element;
}

function link(label, href) {
  let url = null;
  try {
    url = new URL(href);
  } catch {
    // relative or malformed: not a link
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return document.createTextNode(label || href);
  }
  const a = document.createElement("a");
  a.href = url.href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  a.referrerPolicy = "no-referrer";
  a.textContent = label || url.href;
  return a;
}
