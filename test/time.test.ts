import { expect } from 'chai';
import { formatTimestamp, parseTimestamp } from '../lib/core/time.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('time: UTC timestamps, one spelling', () => {
  it('formatTimestamp spells every date as toISOString does, without the milliseconds', () => {
    const edges = [
      0,
      -62167219200000 /* 0000-01-01 */,
      253402300799999 /* 9999-12-31T23:59:59.999 */,
      951782400000 /* 2000-02-29 */,
      Date.UTC(2026, 11, 31, 23, 59, 59),
    ];
    const random = Array.from({ length: 2000 }, () => Math.floor((Math.random() * 2 - 0.5) * 253402300799999));
    for (const ms of [...edges, ...random]) expect(formatTimestamp(new Date(ms)), String(ms)).to.equal(iso(new Date(ms)));
  });

  it("outside years 0-9999 it keeps toISOString's extended year; an invalid date throws RangeError", () => {
    for (const ms of [-62167219200001, 253402300800000, 8.64e15, -8.64e15]) expect(formatTimestamp(new Date(ms))).to.equal(iso(new Date(ms)));
    expect(() => formatTimestamp(new Date(NaN))).to.throw(RangeError);
  });

  it('parseTimestamp takes only the one spelling and gives it back unchanged', () => {
    expect(formatTimestamp(parseTimestamp('2027-01-31T00:00:00Z'))).to.equal('2027-01-31T00:00:00Z');
    for (const bad of ['2027-01-31T00:00:00.000Z', '2027-02-30T00:00:00Z', '2027-01-31T00:00:00+00:00', '2027-1-31T00:00:00Z', '']) {
      expect(() => parseTimestamp(bad), bad)
        .to.throw()
        .with.property('code', 'MALFORMED');
    }
  });
});
