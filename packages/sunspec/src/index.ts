/**
 * @gridseam/sunspec: SunSpec Modbus models, register codec, discovery and the Modbus TCP transport.
 * Issue 3 (SunSpec Modbus device edge).
 */
export const PACKAGE = '@gridseam/sunspec';

// The SunSpec DeviceAdapter of the gateway's edge runtime (health, shared connections, discovery).
export {
  type AdapterHealth,
  DEFAULT_FAULTY_AFTER,
  type DiscoveredUnit,
  type DiscoverOptions,
  discoverSunSpec,
  SUNSPEC_POLL_MODELS,
  SunSpecAdapter,
  type SunSpecAdapterOptions,
  type SunSpecConnectionOptions,
  SunSpecConnections,
} from './adapter.ts';
// SunSpec codec: model definitions, decode/encode of model blocks, point writes (src/codec).
export {
  compileModel,
  type DecodedGroup,
  type DecodedModel,
  type DecodeOptions,
  decodeModel,
  type EncodeOptions,
  encodeGroupWrite,
  encodeModel,
  encodePointWrite,
  type GroupDef,
  type GroupValues,
  getModelDefinition,
  type ModelDef,
  type ModelValues,
  modelIds,
  modelName,
  POINT_TYPES,
  type PointDef,
  type PointLocation,
  type PointType,
  type PointValue,
  pointAt,
  type RegisterWrite,
  type SymbolDef,
} from './codec/index.ts';
// Device edge: discovery, reading, canonical mapping, controls (src/device).
export {
  type ApplyResult,
  applySetpoint,
  CONTROL_CONTEXT_MODELS,
  capabilitiesOf,
  classify,
  controlsOf,
  DEFAULT_BASES,
  encodePlan,
  type PlannedWrite,
  type PlanOptions,
  planReads,
  planSetpoint,
  type ReadBackEntry,
  type ReadingQuirks,
  type ReadingsOptions,
  type ReadOptions,
  type ReadRequest,
  readingsOf,
  readModels,
  type ScannedModel,
  type ScanOptions,
  type ScanResult,
  scanSunSpec,
  type WriteFrame,
  type WritePlan,
} from './device/index.ts';
// Modbus TCP: frame codec, server, client transport (src/modbus).
export {
  type ModbusTcpEngine,
  type ModbusTcpOptions,
  type ModbusTcpStats,
  type ModbusTcpTransport,
  openModbusTcp,
} from './modbus/client.ts';
export {
  checkRegisterRange,
  type DecodedRequest,
  decodeRequestPdu,
  decodeResponsePdu,
  type ExpectedResponse,
  encodeExceptionResponse,
  encodeReadHoldingRegistersRequest,
  encodeReadHoldingRegistersResponse,
  encodeWriteRegistersRequest,
  encodeWriteRegistersResponse,
  FC_READ_HOLDING_REGISTERS,
  FC_WRITE_MULTIPLE_REGISTERS,
  type FrameError,
  FrameReader,
  type FrameReadResult,
  isModbusException,
  MAX_ADU_LENGTH,
  type MbapFrame,
  type ModbusException,
  ModbusExceptionCode,
  type ModbusRequest,
  type ModbusResponse,
} from './modbus/mbap.ts';
export {
  type ModbusRegisterHandler,
  ModbusTcpServer,
  type ModbusTcpServerOptions,
  type ModbusTcpServerStats,
} from './modbus/server.ts';
export { MAX_READ_REGISTERS, MAX_WRITE_REGISTERS, type ModbusTransport } from './modbus/transport.ts';

// The simulator entry points the gateway uses (`gridseam sim sunspec`, edge tests and bench).
export {
  Battery,
  deviceFactory,
  Hybrid,
  LegacyInverter,
  MAX_UNITS_PER_PORT,
  Meter,
  PROFILE_MODELS,
  PROFILES,
  type ProfileName,
  type ProfileOptions,
  PvInverter,
  RegisterMap,
  type RegisterMapOptions,
  runSunSpecSimulatorCli,
  type SimulatedDevice,
  SunSpecSimulator,
  type SunSpecSimulatorCliOptions,
  type SunSpecSimulatorOptions,
} from './simulator/index.ts';
