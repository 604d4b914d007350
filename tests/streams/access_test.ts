import { deepEqual, equal, throws } from "node:assert/strict";
import {
  canonicalStreamPath,
  changeFeedPath,
  feedTableName,
  feedTableOf,
  streamAccess,
} from "../../lib/streams/access.ts";

Deno.test("streamAccess() maps read/create/append/delete to r/c/c/d on stream:<path>", () => {
  deepEqual(streamAccess("read", "orders/eu"), { operation: "r", table: "stream:orders/eu" });
  deepEqual(streamAccess("create", "orders/eu"), { operation: "c", table: "stream:orders/eu" });
  deepEqual(streamAccess("append", "orders/eu"), { operation: "c", table: "stream:orders/eu" });
  deepEqual(streamAccess("delete", "orders/eu"), { operation: "d", table: "stream:orders/eu" });
});

Deno.test("streamAccess() reads of _changes/<table> need r on the table itself", () => {
  deepEqual(streamAccess("read", "_changes/orders"), { operation: "r", table: "orders" });
  deepEqual(streamAccess("read", "_changes/Sales.Orders"), {
    operation: "r",
    table: "sales.orders",
  });
  deepEqual(streamAccess("read", "_changes/main.orders"), { operation: "r", table: "orders" });
  // writes there are refused by the module (read-only) whatever the grants say
  deepEqual(streamAccess("append", "_changes/orders"), {
    operation: "c",
    table: "stream:_changes/orders",
  });
});

Deno.test("feedTableName() folds case, drops schema main and the catalog, skips temp", () => {
  equal(feedTableName("Orders"), "orders");
  equal(feedTableName("MAIN.Orders"), "orders");
  equal(feedTableName(["memory", "main", "Orders"]), "orders");
  equal(feedTableName(["sales", "Orders"]), "sales.orders");
  equal(feedTableName(["temp", "main", "x"]), null);
  equal(feedTableName(["temp", "x"]), null);
  equal(feedTableName(""), null);
});

Deno.test("changeFeedPath() and canonicalStreamPath() agree on feed names", () => {
  equal(changeFeedPath("Orders"), "_changes/orders");
  equal(changeFeedPath(["sales", "orders"]), "_changes/sales.orders");
  equal(canonicalStreamPath("_changes/ORDERS"), "_changes/orders");
  equal(canonicalStreamPath("Orders/EU"), "Orders/EU");
  equal(feedTableOf("_changes/main.t"), "t");
  equal(feedTableOf("orders"), null);
  throws(() => changeFeedPath(["temp", "t"]));
});
