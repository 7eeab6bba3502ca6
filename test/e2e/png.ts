/**
 * A minimal PNG decoder for the export tests (8-bit greyscale, RGB or RGBA, not interlaced: what
 * Chromium and pdftoppm write), with node's zlib, and a PPM (P6) reader for pdftoppm's output.
 */
import { inflateSync } from "node:zlib";

export interface Pixels {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major. */
  rgb: Buffer;
}

export function decodePng(png: Buffer): Pixels {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let pos = 8;
  let width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString("latin1", pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${interlace}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 255;
    }
  }
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++)
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = channels >= 3 ? out[i * channels + k] : out[i * channels];
  return { width, height, rgb };
}

/** Reads a binary PPM (P6, maxval 255). */
export function decodePpm(ppm: Buffer): Pixels {
  const head = ppm.toString("latin1", 0, 64).match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
  if (!head) throw new Error("not a P6 PPM");
  const width = Number(head[1]);
  const height = Number(head[2]);
  return { width, height, rgb: ppm.subarray(head[0].length, head[0].length + width * height * 3) };
}

/** Pixels in the box [x0, x1) x [y0, y1) (fractions of the image) that are not near-white, and how many are near `hex`. */
export function inkIn(p: Pixels, box: [number, number, number, number], hex?: string): { ink: number; total: number; matching: number } {
  const [x0, y0, x1, y1] = [Math.floor(box[0] * p.width), Math.floor(box[1] * p.height), Math.floor(box[2] * p.width), Math.floor(box[3] * p.height)];
  const want = hex ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) : null;
  let ink = 0, matching = 0, total = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * p.width + x) * 3;
      const [r, g, b] = [p.rgb[i], p.rgb[i + 1], p.rgb[i + 2]];
      total++;
      if (r < 235 || g < 235 || b < 235) ink++;
      if (want && Math.abs(r - want[0]) <= 24 && Math.abs(g - want[1]) <= 24 && Math.abs(b - want[2]) <= 24) matching++;
    }
  return { ink, total, matching };
}
