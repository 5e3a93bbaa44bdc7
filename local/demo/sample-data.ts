import { type Db, ObjectId } from 'mongodb';

/** The demo's collections: one per common `_id` shape (ObjectId, string, integer). */
export const DEMO_DATABASE = 'shop';
export const DEMO_COLLECTIONS = ['orders', 'customers', 'products'] as const;

export interface SampleSizes {
  orders: number;
  customers: number;
  products: number;
}

export const DEFAULT_SAMPLE_SIZES: SampleSizes = { orders: 3000, customers: 1000, products: 500 };

const CITIES = ['Seoul', 'Lisbon', 'Austin', 'Nairobi', 'Oslo', 'Lima'];
const STATUSES = ['placed', 'paid', 'shipped', 'delivered'];

export function customerId(n: number): string {
  return `cust-${String(n).padStart(5, '0')}`;
}

export function orderDocument(n: number, sizes: SampleSizes): Record<string, unknown> {
  const lines = 1 + (n % 4);
  return {
    _id: new ObjectId(),
    customerId: customerId(n % sizes.customers),
    status: STATUSES[n % STATUSES.length],
    placedAt: new Date(Date.UTC(2026, 0, 1) + n * 60_000),
    lines: Array.from({ length: lines }, (_, line) => ({
      productId: (n * 7 + line) % sizes.products,
      quantity: 1 + ((n + line) % 3),
    })),
    total: Math.round(((n * 37) % 50_000) + 99) / 100,
  };
}

/** Seeds the demo collections if they are empty; returns how many documents each holds. */
export async function seedSampleData(
  db: Db,
  sizes: SampleSizes = DEFAULT_SAMPLE_SIZES,
): Promise<SampleSizes> {
  const [orders, customers, products] = DEMO_COLLECTIONS.map((name) => db.collection(name));
  if (!orders || !customers || !products) throw new Error('demo collections are not defined');
  if ((await customers.estimatedDocumentCount()) === 0) {
    await customers.insertMany(
      Array.from({ length: sizes.customers }, (_, n) => ({
        _id: customerId(n) as unknown as ObjectId,
        name: `Customer ${n}`,
        city: CITIES[n % CITIES.length],
        since: new Date(Date.UTC(2020, n % 12, 1 + (n % 28))),
        vip: n % 10 === 0,
      })),
    );
  }
  if ((await products.estimatedDocumentCount()) === 0) {
    await products.insertMany(
      Array.from({ length: sizes.products }, (_, n) => ({
        _id: n as unknown as ObjectId,
        name: `Product ${n}`,
        price: Math.round(((n * 131) % 20_000) + 100) / 100,
        tags: n % 2 === 0 ? ['even', 'demo'] : ['odd'],
      })),
    );
  }
  if ((await orders.estimatedDocumentCount()) === 0) {
    const batch = 1000;
    for (let start = 0; start < sizes.orders; start += batch) {
      const count = Math.min(batch, sizes.orders - start);
      await orders.insertMany(Array.from({ length: count }, (_, k) => orderDocument(start + k, sizes)));
    }
  }
  return {
    orders: await orders.countDocuments(),
    customers: await customers.countDocuments(),
    products: await products.countDocuments(),
  };
}
