/** The library's name and version as every event's `context.library` carries them (a test keeps it equal to package.json). */
export const LIBRARY_NAME = '@deepref/node';
export const LIBRARY_VERSION = '0.1.0';
