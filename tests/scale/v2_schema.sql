-- The journal schema at version 2, as durablec created it on SQLite before schedules (version 3).
CREATE TABLE durablec_events (
	id INTEGER NOT NULL, 
	run_id VARCHAR(200) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	payload BLOB, 
	payload_repr TEXT, 
	consumed_key VARCHAR(1000), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE durablec_meta (
	"key" VARCHAR(64) NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE durablec_runs (
	id VARCHAR(200) NOT NULL, 
	task_id VARCHAR(300) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	args BLOB, 
	args_repr TEXT, 
	result BLOB, 
	result_repr TEXT, 
	error_type VARCHAR, 
	error_message TEXT, 
	dead_letter VARCHAR, 
	idempotency_key VARCHAR(300), 
	parent_run_id VARCHAR(200), 
	module_hash VARCHAR, 
	wake_at FLOAT, 
	waiting_for VARCHAR(300), 
	attempt INTEGER NOT NULL, 
	lease_owner VARCHAR, 
	lease_host VARCHAR, 
	lease_pid INTEGER, 
	lease_expires_at FLOAT, 
	lease_epoch INTEGER NOT NULL, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	finished_at FLOAT, 
	queue VARCHAR(200), 
	concurrency_key VARCHAR(300), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_durablec_runs_task_idem UNIQUE (task_id, idempotency_key)
);
CREATE TABLE durablec_steps (
	id INTEGER NOT NULL, 
	run_id VARCHAR(200) NOT NULL, 
	"key" VARCHAR(1000) NOT NULL, 
	attempt INTEGER NOT NULL, 
	retry_of INTEGER, 
	kind VARCHAR(20) NOT NULL, 
	callee TEXT NOT NULL, 
	file TEXT, 
	line INTEGER NOT NULL, 
	col INTEGER NOT NULL, 
	outcome VARCHAR(10) NOT NULL, 
	final BOOLEAN NOT NULL, 
	args BLOB, 
	args_repr TEXT, 
	args_digest VARCHAR(64), 
	result BLOB, 
	result_repr TEXT, 
	error_type VARCHAR, 
	error_message TEXT, 
	traceback TEXT, 
	http_status INTEGER, 
	http_body TEXT, 
	started_at FLOAT NOT NULL, 
	finished_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_durablec_events_run_name ON durablec_events (run_id, name);
CREATE INDEX ix_durablec_runs_created ON durablec_runs (created_at);
CREATE INDEX ix_durablec_runs_due ON durablec_runs (status, wake_at);
CREATE INDEX ix_durablec_runs_parent ON durablec_runs (parent_run_id);
CREATE INDEX ix_durablec_runs_queue ON durablec_runs (queue, status);
CREATE INDEX ix_durablec_runs_task_status ON durablec_runs (task_id, status);
CREATE INDEX ix_durablec_steps_run_key ON durablec_steps (run_id, "key");
INSERT INTO durablec_meta (key, value) VALUES ('schema_version', '2');
