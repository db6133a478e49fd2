-- djmap initial schema: every geometry in EPSG:4326, GiST-indexed, checked valid and in range.

CREATE TABLE org_types (
    code   text PRIMARY KEY,
    name   text NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 1 AND 9)
);
INSERT INTO org_types (code, name, level) VALUES
    ('党委', 'Party committee', 1),
    ('党总支', 'General party branch', 2),
    ('党支部', 'Party branch', 3);

CREATE TABLE districts (
    id     bigserial PRIMARY KEY,
    code   text NOT NULL UNIQUE,
    name   text NOT NULL,
    level  text NOT NULL DEFAULT 'district',
    geom   geometry(MultiPolygon, 4326) NOT NULL,
    CONSTRAINT districts_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT districts_geom_range CHECK (
        ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX districts_geom_gist ON districts USING gist (geom);

CREATE TABLE buildings (
    id        bigserial PRIMARY KEY,
    code      text NOT NULL UNIQUE,
    name      text,
    use       text,
    height_m  double precision NOT NULL CHECK (height_m > 0 AND height_m < 1000),
    floors    integer CHECK (floors IS NULL OR floors BETWEEN 1 AND 300),
    geom      geometry(MultiPolygon, 4326) NOT NULL,
    CONSTRAINT buildings_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT buildings_geom_range CHECK (
        ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX buildings_geom_gist ON buildings USING gist (geom);

CREATE TABLE organisations (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    name         text NOT NULL,
    type         text NOT NULL REFERENCES org_types (code),
    parent_id    bigint REFERENCES organisations (id) ON DELETE RESTRICT,
    building_id  bigint REFERENCES buildings (id) ON DELETE SET NULL,
    founded      date,
    contact      text,
    geom         geometry(Point, 4326) NOT NULL,
    CONSTRAINT organisations_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id),
    CONSTRAINT organisations_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT organisations_geom_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)
);
CREATE INDEX organisations_geom_gist ON organisations USING gist (geom);
CREATE INDEX organisations_parent_idx ON organisations (parent_id);

-- The subtree of an organisation (itself included) in one query.
CREATE FUNCTION org_subtree(root bigint) RETURNS TABLE (id bigint, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(id, depth) AS (
        SELECT o.id, 0 FROM organisations o WHERE o.id = root
        UNION ALL
        SELECT c.id, t.depth + 1 FROM organisations c JOIN t ON c.parent_id = t.id
    ) CYCLE id SET is_cycle USING path
    SELECT id, depth FROM t WHERE NOT is_cycle
$$;

CREATE TABLE members (
    id           bigserial PRIMARY KEY,
    external_id  text NOT NULL UNIQUE,
    name         text NOT NULL,
    branch_id    bigint NOT NULL REFERENCES organisations (id) ON DELETE RESTRICT,
    status       text NOT NULL CHECK (status IN ('正式', '预备', '流动')),
    joined       date,
    home         geometry(Point, 4326),
    CONSTRAINT members_home_valid CHECK (home IS NULL OR (ST_IsValid(home) AND NOT ST_IsEmpty(home))),
    CONSTRAINT members_home_range CHECK (
        home IS NULL OR (ST_X(home) BETWEEN -180 AND 180 AND ST_Y(home) BETWEEN -90 AND 90))
);
CREATE INDEX members_home_gist ON members USING gist (home);
CREATE INDEX members_branch_idx ON members (branch_id);
COMMENT ON COLUMN members.home IS 'SENSITIVE (PIPL Art. 28): never leaves the server as a point below admin';

CREATE TABLE service_points (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('党群服务中心', '党群服务站', '党员活动室', '红色教育基地')),
    org_id         bigint REFERENCES organisations (id) ON DELETE SET NULL,
    address        text,
    opening_hours  text,
    capacity       integer CHECK (capacity IS NULL OR capacity >= 0),
    phone          text,
    geom           geometry(Point, 4326) NOT NULL,
    CONSTRAINT service_points_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT service_points_geom_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)
);
CREATE INDEX service_points_geom_gist ON service_points USING gist (geom);

CREATE TABLE activities (
    id                bigserial PRIMARY KEY,
    code              text NOT NULL UNIQUE,
    title             text NOT NULL,
    kind              text NOT NULL CHECK (length(kind) > 0),
    organiser_id      bigint NOT NULL REFERENCES organisations (id) ON DELETE RESTRICT,
    service_point_id  bigint REFERENCES service_points (id) ON DELETE SET NULL,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    capacity          integer CHECK (capacity IS NULL OR capacity >= 0),
    description       text,
    geom              geometry(Point, 4326) NOT NULL,
    CONSTRAINT activities_start_before_end CHECK (starts_at < ends_at),
    CONSTRAINT activities_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT activities_geom_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)
);
CREATE INDEX activities_geom_gist ON activities USING gist (geom);
CREATE INDEX activities_time_idx ON activities (starts_at, ends_at);
CREATE INDEX activities_organiser_idx ON activities (organiser_id);

CREATE TABLE checkins (
    id           bigserial PRIMARY KEY,
    activity_id  bigint NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    member_id    bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    checked_at   timestamptz NOT NULL DEFAULT now(),
    distance_m   double precision NOT NULL CHECK (distance_m >= 0),
    CONSTRAINT checkins_once UNIQUE (activity_id, member_id)
);

CREATE TABLE roads (
    id        bigserial PRIMARY KEY,
    code      text NOT NULL UNIQUE,
    name      text,
    kind      text NOT NULL DEFAULT 'street',
    source    bigint,
    target    bigint,
    length_m  double precision,
    geom      geometry(LineString, 4326) NOT NULL,
    CONSTRAINT roads_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT roads_geom_range CHECK (
        ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX roads_geom_gist ON roads USING gist (geom);
CREATE INDEX roads_source_idx ON roads (source);
CREATE INDEX roads_target_idx ON roads (target);

CREATE TABLE panoramas (
    id                bigserial PRIMARY KEY,
    code              text NOT NULL UNIQUE,
    title             text,
    image_path        text NOT NULL,
    width             integer CHECK (width IS NULL OR width > 0),
    height            integer CHECK (height IS NULL OR height > 0),
    heading           double precision NOT NULL DEFAULT 0 CHECK (heading >= 0 AND heading < 360),
    service_point_id  bigint REFERENCES service_points (id) ON DELETE SET NULL,
    captured_at       timestamptz,
    geom              geometry(Point, 4326) NOT NULL,
    CONSTRAINT panoramas_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT panoramas_geom_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)
);
CREATE INDEX panoramas_geom_gist ON panoramas USING gist (geom);

CREATE TABLE imports (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    source_name   text NOT NULL,
    sha256        text,
    actor         text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL CHECK (status IN ('running', 'written', 'rejected', 'failed')),
    rows_total    integer NOT NULL DEFAULT 0,
    rows_written  integer NOT NULL DEFAULT 0,
    rows_skipped  integer NOT NULL DEFAULT 0,
    report        jsonb
);

-- Per-table data versions: any write bumps the table's version, so caches keyed by it go stale at once.
CREATE TABLE data_versions (
    table_name  text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_versions AS d (table_name, version, updated_at)
    VALUES (TG_TABLE_NAME, 2, now())
    ON CONFLICT (table_name) DO UPDATE SET version = d.version + 1, updated_at = now();
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organisations', 'members', 'service_points', 'activities', 'checkins',
                             'buildings', 'roads', 'panoramas', 'districts'] LOOP
        INSERT INTO data_versions (table_name) VALUES (t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()', t || '_version', t);
    END LOOP;
END $$;
