import type { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { REQUIRED_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;
const indexedType: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};
const cliType = (t: string) => (t === 'KEYWORD_LIST' ? 'KeywordList' : t[0] + t.slice(1).toLowerCase());

/** A search attribute the workflows need is missing and could not be registered, or has the wrong type. */
export class SearchAttributeSetupError extends Error {}

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;
const grpcCode = (err: unknown) => (err as { code?: unknown } | undefined)?.code;

/**
 * Makes sure the workflow's search attributes exist in the namespace: registers missing ones
 * where this identity may (dev server, self-hosted admin), otherwise explains the command to run.
 * @returns the names it registered.
 * @throws SearchAttributeSetupError when one exists with another type, or is missing and this identity
 *   may not add it (the message gives the `temporal` and `tcld` commands to run).
 * @throws the gRPC error of listing them, other than UNIMPLEMENTED (e.g. the namespace does not exist).
 */
export async function ensureSearchAttributes(connection: NativeConnection, namespace: string): Promise<string[]> {
  let custom: Record<string, temporal.api.enums.v1.IndexedValueType>;
  try {
    custom = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    // The time-skipping test server can add search attributes but not list them.
    if (grpcCode(err) !== GRPC_UNIMPLEMENTED) throw err;
    await connection.operatorService
      .addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(REQUIRED_SEARCH_ATTRIBUTES.map((k) => [k.name, indexedType[k.type]!])),
      })
      .catch((e: unknown) => {
        if (grpcCode(e) !== GRPC_ALREADY_EXISTS) throw e;
      });
    return REQUIRED_SEARCH_ATTRIBUTES.map((k) => k.name);
  }
  const missing = REQUIRED_SEARCH_ATTRIBUTES.filter((k) => !(k.name in custom));
  for (const key of REQUIRED_SEARCH_ATTRIBUTES) {
    const have = custom[key.name];
    if (have !== undefined && have !== indexedType[key.type]) {
      throw new SearchAttributeSetupError(
        `Search attribute ${key.name} exists in namespace "${namespace}" with the wrong type; hero-flow needs ${cliType(key.type)}.`,
      );
    }
  }
  if (!missing.length) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, indexedType[k.type]!])),
    });
    return missing.map((k) => k.name);
  } catch (err) {
    const commands = missing
      .map(
        (k) =>
          `  temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${cliType(k.type)}\n` +
          `  (Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} --search-attribute "${k.name}=${cliType(k.type)}")`,
      )
      .join('\n');
    throw new SearchAttributeSetupError(
      `Search attribute(s) ${missing.map((k) => k.name).join(', ')} missing in namespace "${namespace}" and this worker ` +
        `could not register them (${(err as Error).message}). Ask an operator to run:\n${commands}`,
    );
  }
}
