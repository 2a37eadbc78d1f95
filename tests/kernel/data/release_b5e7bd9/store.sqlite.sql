BEGIN TRANSACTION;
CREATE TABLE channel_identities (
	id INTEGER NOT NULL, 
	customer_id VARCHAR(16) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	external_id VARCHAR(128) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (channel, external_id), 
	FOREIGN KEY(customer_id) REFERENCES customers (id)
);
INSERT INTO "channel_identities" VALUES(1,'C0001','wechat','o-release-user');
CREATE TABLE coupons (
	code VARCHAR(24) NOT NULL, 
	customer_id VARCHAR(16) NOT NULL, 
	title_zh VARCHAR(64) NOT NULL, 
	title_en VARCHAR(96) NOT NULL, 
	scope VARCHAR(16) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	value INTEGER NOT NULL, 
	min_spend_cents INTEGER NOT NULL, 
	valid_from DATE NOT NULL, 
	valid_until DATE NOT NULL, 
	used_at DATETIME, 
	PRIMARY KEY (code), 
	FOREIGN KEY(customer_id) REFERENCES customers (id)
);
CREATE TABLE customers (
	id VARCHAR(16) NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	phone VARCHAR(20) NOT NULL, 
	tier VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "customers" VALUES('C0001','李雷','13800138000','gold');
CREATE TABLE locations (
	id VARCHAR(16) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	city VARCHAR(32) NOT NULL, 
	name_zh VARCHAR(64) NOT NULL, 
	name_en VARCHAR(96) NOT NULL, 
	address_zh VARCHAR(160) NOT NULL, 
	address_en VARCHAR(200) NOT NULL, 
	hours VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "locations" VALUES('SH01','store','上海','上海南京路店','Shanghai Nanjing Rd','南京东路 1 号','1 East Nanjing Rd','10:00-22:00');
CREATE TABLE order_events (
	id INTEGER NOT NULL, 
	order_id VARCHAR(16) NOT NULL, 
	seq INTEGER NOT NULL, 
	status VARCHAR(24) NOT NULL, 
	at DATETIME NOT NULL, 
	note_zh VARCHAR(160) NOT NULL, 
	note_en VARCHAR(200) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (order_id, seq), 
	FOREIGN KEY(order_id) REFERENCES orders (order_id)
);
INSERT INTO "order_events" VALUES(1,'KF20251201001',1,'paid','2025-12-01 08:30:00.000000','','');
INSERT INTO "order_events" VALUES(2,'KF20251201001',2,'shipped','2025-12-01 08:30:00.000000','','');
CREATE TABLE order_lines (
	id INTEGER NOT NULL, 
	order_id VARCHAR(16) NOT NULL, 
	line_no INTEGER NOT NULL, 
	sku_code VARCHAR(32) NOT NULL, 
	name_zh VARCHAR(96) NOT NULL, 
	name_en VARCHAR(128) NOT NULL, 
	variant_zh VARCHAR(64) NOT NULL, 
	variant_en VARCHAR(64) NOT NULL, 
	quantity INTEGER NOT NULL, 
	unit_price_cents INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (order_id, line_no), 
	FOREIGN KEY(order_id) REFERENCES orders (order_id), 
	FOREIGN KEY(sku_code) REFERENCES skus (code)
);
INSERT INTO "order_lines" VALUES(1,'KF20251201001',1,'P001-SLV-16G','轻薄笔记本','Slim laptop','银色 16G','silver 16G',1,599900);
CREATE TABLE orders (
	order_id VARCHAR(16) NOT NULL, 
	customer_id VARCHAR(16) NOT NULL, 
	status VARCHAR(24) NOT NULL, 
	channel VARCHAR(24) NOT NULL, 
	created_at DATETIME NOT NULL, 
	contact_name VARCHAR(64) NOT NULL, 
	contact_phone VARCHAR(20) NOT NULL, 
	shipping_address VARCHAR(200) NOT NULL, 
	subtotal_cents INTEGER NOT NULL, 
	shipping_fee_cents INTEGER NOT NULL, 
	discount_cents INTEGER NOT NULL, 
	total_cents INTEGER NOT NULL, 
	carrier VARCHAR(32), 
	tracking_number VARCHAR(32), 
	expected_delivery DATE, 
	store_id VARCHAR(16), 
	payment_deadline DATETIME, 
	refund_cents INTEGER, 
	PRIMARY KEY (order_id), 
	FOREIGN KEY(customer_id) REFERENCES customers (id), 
	FOREIGN KEY(store_id) REFERENCES locations (id)
);
INSERT INTO "orders" VALUES('KF20251201001','C0001','shipped','web','2025-12-01 08:30:00.000000','李雷','13800138000','上海市黄浦区南京东路 1 号',599900,0,10000,589900,'SF','SF1234567890','2025-12-03',NULL,NULL,NULL);
CREATE TABLE product_aliases (
	id INTEGER NOT NULL, 
	product_id VARCHAR(16) NOT NULL, 
	alias VARCHAR(96) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
INSERT INTO "product_aliases" VALUES(1,'P001','笔记本');
CREATE TABLE product_specs (
	id INTEGER NOT NULL, 
	product_id VARCHAR(16) NOT NULL, 
	"key" VARCHAR(32) NOT NULL, 
	value_zh VARCHAR(200) NOT NULL, 
	value_en VARCHAR(400) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (product_id, "key"), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
INSERT INTO "product_specs" VALUES(1,'P001','weight','1.2 千克','1.2 kg');
CREATE TABLE products (
	id VARCHAR(16) NOT NULL, 
	name_zh VARCHAR(96) NOT NULL, 
	name_en VARCHAR(128) NOT NULL, 
	category VARCHAR(32) NOT NULL, 
	brand VARCHAR(48) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "products" VALUES('P001','轻薄笔记本','Slim laptop','laptop','Kefu');
CREATE TABLE restock_subscriptions (
	id INTEGER NOT NULL, 
	sku_code VARCHAR(32) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	sender_id VARCHAR(256) NOT NULL, 
	language VARCHAR(8) NOT NULL, 
	customer_id VARCHAR(16), 
	city VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (sku_code, channel, sender_id), 
	FOREIGN KEY(sku_code) REFERENCES skus (code), 
	FOREIGN KEY(customer_id) REFERENCES customers (id)
);
CREATE TABLE skus (
	code VARCHAR(32) NOT NULL, 
	product_id VARCHAR(16) NOT NULL, 
	price_cents INTEGER NOT NULL, 
	color_zh VARCHAR(16) NOT NULL, 
	color_en VARCHAR(24) NOT NULL, 
	size VARCHAR(8) NOT NULL, 
	capacity VARCHAR(16) NOT NULL, 
	PRIMARY KEY (code), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
INSERT INTO "skus" VALUES('P001-SLV-16G','P001',599900,'银色','silver','','16G');
CREATE TABLE stock_levels (
	sku_code VARCHAR(32) NOT NULL, 
	location_id VARCHAR(16) NOT NULL, 
	quantity INTEGER NOT NULL, 
	PRIMARY KEY (sku_code, location_id), 
	FOREIGN KEY(sku_code) REFERENCES skus (code), 
	FOREIGN KEY(location_id) REFERENCES locations (id)
);
INSERT INTO "stock_levels" VALUES('P001-SLV-16G','SH01',3);
CREATE INDEX ix_customers_phone ON customers (phone);
CREATE INDEX ix_locations_city ON locations (city);
CREATE INDEX ix_channel_identities_customer_id ON channel_identities (customer_id);
CREATE INDEX ix_orders_customer_id ON orders (customer_id);
CREATE INDEX ix_orders_created_at ON orders (created_at);
CREATE INDEX ix_orders_status ON orders (status);
CREATE INDEX ix_product_aliases_product_id ON product_aliases (product_id);
CREATE INDEX ix_product_specs_product_id ON product_specs (product_id);
CREATE INDEX ix_skus_product_id ON skus (product_id);
CREATE INDEX ix_coupons_customer_id ON coupons (customer_id);
CREATE INDEX ix_order_lines_order_id ON order_lines (order_id);
CREATE INDEX ix_order_events_order_id ON order_events (order_id);
CREATE INDEX ix_restock_subscriptions_sku_code ON restock_subscriptions (sku_code);
COMMIT;
