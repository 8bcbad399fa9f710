CREATE TABLE "agents" (
	"id" text PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"credential_hash" text NOT NULL,
	"credential_issued_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"revoked_at" timestamp with time zone,
	"version" text,
	"capabilities" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'unknown' NOT NULL,
	"last_seen_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "agents_status_check" CHECK ("agents"."status" in ('online', 'offline', 'unknown'))
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"release_id" uuid NOT NULL,
	"environment" text NOT NULL,
	"step" integer,
	"status" text DEFAULT 'pending' NOT NULL,
	"approvers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"decided_by" text,
	"comment" text,
	"expires_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "approvals_status_check" CHECK ("approvals"."status" in ('pending', 'approved', 'rejected', 'expired'))
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"kind" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"release_id" uuid,
	"action" text NOT NULL,
	"actor" text,
	"comment" text,
	"target" text,
	"details" jsonb,
	"occurred_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"release_id" uuid NOT NULL,
	"release_app_id" uuid,
	"app" text NOT NULL,
	"environment" text NOT NULL,
	"target" text NOT NULL,
	"target_type" text NOT NULL,
	"version" text NOT NULL,
	"previous_version" text,
	"operation" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"superseded" boolean DEFAULT false NOT NULL,
	"superseded_at" timestamp with time zone,
	"superseded_by" uuid,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "deployments_target_type_check" CHECK ("deployments"."target_type" in ('kubernetes', 'docker', 'script', 'gitpull')),
	CONSTRAINT "deployments_operation_check" CHECK ("deployments"."operation" in ('deploy', 'install', 'update', 'rollback', 'uninstall')),
	CONSTRAINT "deployments_status_check" CHECK ("deployments"."status" in ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'rolled_back')),
	CONSTRAINT "deployments_not_superseded_by_itself" CHECK ("deployments"."superseded_by" is null or "deployments"."superseded_by" <> "deployments"."id")
);
--> statement-breakpoint
CREATE TABLE "release_apps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"uid" text NOT NULL,
	"release_id" uuid NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"app" text NOT NULL,
	"version" text NOT NULL,
	"phase" text DEFAULT 'Pending' NOT NULL,
	"new_tag" text,
	"new_build" text,
	"new_tag_detected_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "releases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"uid" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"project" text NOT NULL,
	"version" text NOT NULL,
	"operation" text NOT NULL,
	"phase" text DEFAULT 'Pending' NOT NULL,
	"current_environment" text,
	"created_by" text,
	"spec" jsonb NOT NULL,
	"analytics" jsonb,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "releases_operation_check" CHECK ("releases"."operation" in ('deploy', 'install', 'update', 'rollback', 'uninstall')),
	CONSTRAINT "releases_phase_check" CHECK ("releases"."phase" in ('Pending', 'Scheduled', 'Waiting', 'Approving', 'Deploying', 'Verifying', 'Paused', 'Succeeded', 'Failed', 'Cancelled', 'RolledBack'))
);
--> statement-breakpoint
CREATE TABLE "stage_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"release_id" uuid NOT NULL,
	"target" text NOT NULL,
	"environment" text NOT NULL,
	"stage" text NOT NULL,
	"phase" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "stage_runs_phase_check" CHECK ("stage_runs"."phase" in ('pre_release', 'release', 'post_release')),
	CONSTRAINT "stage_runs_status_check" CHECK ("stage_runs"."status" in ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'))
);
--> statement-breakpoint
CREATE TABLE "status_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"release_id" uuid,
	"target" text NOT NULL,
	"agent_id" text NOT NULL,
	"phase" text,
	"task_id" text,
	"task_name" text,
	"status" text NOT NULL,
	"progress" integer,
	"message" text,
	"metrics" jsonb,
	"reported_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "status_reports_progress_check" CHECK ("status_reports"."progress" is null or ("status_reports"."progress" between 0 and 100))
);
--> statement-breakpoint
CREATE TABLE "target_installations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"target" text NOT NULL,
	"app" text NOT NULL,
	"version" text,
	"previous_version" text,
	"state" text DEFAULT 'unknown' NOT NULL,
	"backup_path" text,
	"backup_count" integer DEFAULT 0 NOT NULL,
	"installed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "target_installations_state_check" CHECK ("target_installations"."state" in ('installed', 'uninstalled', 'failed', 'unknown'))
);
--> statement-breakpoint
CREATE TABLE "task_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedup_key" text NOT NULL,
	"stage_run_id" uuid NOT NULL,
	"release_id" uuid NOT NULL,
	"task_id" text NOT NULL,
	"task_name" text NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"retry_count" integer DEFAULT 0 NOT NULL,
	"output_tail" text,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"lock_version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "task_runs_status_check" CHECK ("task_runs"."status" in ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'))
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_release_app_id_release_apps_id_fk" FOREIGN KEY ("release_app_id") REFERENCES "public"."release_apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_superseded_by_deployments_id_fk" FOREIGN KEY ("superseded_by") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_apps" ADD CONSTRAINT "release_apps_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_runs" ADD CONSTRAINT "stage_runs_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_runs" ADD CONSTRAINT "stage_runs_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_stage_run_id_stage_runs_id_fk" FOREIGN KEY ("stage_run_id") REFERENCES "public"."stage_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_dedup_key_key" ON "approvals" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "approvals_release_id_status_idx" ON "approvals" USING btree ("release_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_dedup_key_key" ON "audit_events" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "audit_events_release_id_occurred_at_idx" ON "audit_events" USING btree ("release_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_object_occurred_at_idx" ON "audit_events" USING btree ("namespace","kind","name","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_dedup_key_key" ON "deployments" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "deployments_release_id_created_at_idx" ON "deployments" USING btree ("release_id","created_at");--> statement-breakpoint
CREATE INDEX "deployments_app_target_created_at_idx" ON "deployments" USING btree ("app","target","created_at");--> statement-breakpoint
CREATE INDEX "deployments_release_app_id_superseded_idx" ON "deployments" USING btree ("release_app_id","superseded");--> statement-breakpoint
CREATE UNIQUE INDEX "release_apps_uid_key" ON "release_apps" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "release_apps_app_idx" ON "release_apps" USING btree ("app");--> statement-breakpoint
CREATE INDEX "release_apps_release_id_idx" ON "release_apps" USING btree ("release_id");--> statement-breakpoint
CREATE UNIQUE INDEX "releases_uid_key" ON "releases" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "releases_project_created_at_idx" ON "releases" USING btree ("project","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "stage_runs_dedup_key_key" ON "stage_runs" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "stage_runs_deployment_id_idx" ON "stage_runs" USING btree ("deployment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "status_reports_dedup_key_key" ON "status_reports" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "status_reports_target_reported_at_idx" ON "status_reports" USING btree ("target","reported_at");--> statement-breakpoint
CREATE INDEX "status_reports_release_id_target_reported_at_idx" ON "status_reports" USING btree ("release_id","target","reported_at");--> statement-breakpoint
CREATE UNIQUE INDEX "target_installations_target_app_key" ON "target_installations" USING btree ("target","app");--> statement-breakpoint
CREATE INDEX "target_installations_app_idx" ON "target_installations" USING btree ("app");--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_dedup_key_key" ON "task_runs" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "task_runs_stage_run_id_idx" ON "task_runs" USING btree ("stage_run_id");--> statement-breakpoint
CREATE INDEX "task_runs_release_id_idx" ON "task_runs" USING btree ("release_id");