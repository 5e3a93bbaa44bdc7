/** The ~1 KB documents the benchmarks load, shaped like a typical application record. */
import { BSON, type Collection, type Document, ObjectId } from 'mongodb';

/** A ~1 KB order: nested customer, a date, a double, a short array and four line items. */
export function orderDocument(n: number, id: unknown = new ObjectId()): Document {
  return {
    _id: id,
    orderNo: n,
    customer: { id: `cust-${n % 5000}`, name: `Customer ${n % 5000}`, tier: n % 3 === 0 ? 'gold' : 'silver' },
    createdAt: new Date(1_700_000_000_000 + n * 1000),
    total: (n % 1000) / 7,
    tags: ['alpha', 'beta', 'gamma'].slice(0, (n % 3) + 1),
    lines: Array.from({ length: 4 }, (_, k) => ({
      sku: `SKU-${(n + k) % 977}`,
      qty: k + 1,
      price: 9.99 + k,
    })),
    notes: 'x'.repeat(600),
  };
}

export const ORDER_BSON_BYTES = BSON.calculateObjectSize(orderDocument(1));

/** Inserts `count` order documents (ObjectId `_id`, ascending) in ordered batches of 5000. */
export async function loadOrders(
  collection: Collection<Document>,
  count: number,
  firstNo = 0,
): Promise<void> {
  for (let start = 0; start < count; start += 5_000) {
    const size = Math.min(5_000, count - start);
    await collection.insertMany(
      Array.from({ length: size }, (_, k) => orderDocument(firstNo + start + k)),
      { ordered: true },
    );
  }
}
