import { Module } from '@nestjs/common';

/**
 * Module shell of @keel/audit. The module has no behaviour yet: its issue has not been
 * taken. It exists so that the layout, build and path alias are in place.
 * @publicApi
 */
@Module({})
export class AuditModule {}
