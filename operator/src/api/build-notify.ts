/**
 * The body Drone (or any CI) posts to `POST /api/v1/builds/notify` after a build: the build, its status and
 * the image tag each app was built with (SPEC "New image tags from CI"). Only `success` counts; the other
 * statuses are accepted and ignored, so a pipeline can post unconditionally.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PATTERNS } from './patterns.ts';

export const NEW_TAG_ANNOTATION = 'shipway.dev/new-tag';
export const BUILD_ANNOTATION = 'shipway.dev/build';
/** The status a build must have to count. */
export const SUCCESSFUL_BUILD = 'success';

export const BuildNotification = Type.Object(
  {
    build_number: Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })], {
      description: 'The build number (or id) the tags came from; shown on the ReleaseApps.',
    }),
    build_status: Type.String({ minLength: 1, maxLength: 32, description: 'success, failure, error, killed, ...: only success counts.' }),
    apps: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 253, pattern: PATTERNS.appName.regex }),
          image_tag: Type.String({ minLength: 1, maxLength: 128, pattern: PATTERNS.versionRef.regex }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 200 },
    ),
  },
  { additionalProperties: false },
);
export type BuildNotification = Static<typeof BuildNotification>;
