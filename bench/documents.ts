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

/**
 * Typed columns over the order's paths (the benchmark's `--columns N` takes the first N): every
 * one converts without a mismatch, so the run measures the extraction, not the counting.
 */
export const ORDER_COLUMNS = [
  { path: 'orderNo', name: 'order_no', type: 'Int64' },
  { path: 'customer.id', name: 'customer_id', type: 'String' },
  { path: 'customer.tier', name: 'customer_tier', type: 'LowCardinality(String)' },
  { path: 'createdAt', name: 'created_at', type: 'DateTime64(3)' },
  { path: 'total', name: 'total', type: 'Float64' },
  { path: 'customer.name', name: 'customer_name', type: 'String' },
  { path: 'tags', name: 'tags', type: 'Array(String)' },
  { path: 'lines.0.sku', name: 'first_sku', type: 'String' },
  { path: 'lines.0.qty', name: 'first_qty', type: 'Int32' },
  { path: 'lines.0.price', name: 'first_price', type: 'Decimal(10,2)' },
  { path: 'lines.3.sku', name: 'last_sku', type: 'LowCardinality(String)' },
  { path: 'lines.3.price', name: 'last_price', type: 'Nullable(Float64)' },
];
