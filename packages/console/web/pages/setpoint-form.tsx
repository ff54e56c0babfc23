/**
 * The operator's manual setpoint (POST /api/devices/{id}/setpoints, docs/reference/api.md,
 * Setpoints): a kind the device lists in capabilities.controls, a value in the unit people read
 * (kW for power kinds, % for targetSoc), and a duration. The API wants W, so kW is multiplied here.
 */
import { useState } from 'preact/hooks';
import { type ApiError, enc, post } from '../api.ts';
import { ErrorBox } from '../components.tsx';
import type { Command, Device } from '../types.ts';

const SWITCH_KINDS = new Set(['connect', 'energize']);

type InputUnit = 'kW' | '%' | 'A' | 'on/off';

function inputUnit(kind: string, evUnit: 'W' | 'A'): InputUnit {
  if (kind === 'targetSoc') return '%';
  if (SWITCH_KINDS.has(kind)) return 'on/off';
  if (kind === 'evChargingLimit' && evUnit === 'A') return 'A';
  return 'kW';
}

export function SetpointForm(props: { device: Device; onSubmitted: (command: Command) => void }) {
  const controls = props.device.capabilities.controls;
  const [kind, setKind] = useState(controls[0] ?? '');
  const [value, setValue] = useState('');
  const [evUnit, setEvUnit] = useState<'W' | 'A'>('W');
  const [minutes, setMinutes] = useState('15');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [sent, setSent] = useState<Command | undefined>(undefined);

  if (controls.length === 0) return <p class="muted">This device accepts no setpoints.</p>;
  const unit = inputUnit(kind, evUnit);

  const submit = async (event: Event) => {
    event.preventDefault();
    const typed = SWITCH_KINDS.has(kind) ? Number(value || '1') : Number(value);
    const body = {
      kind,
      value: unit === 'kW' ? Math.round(typed * 1000) : typed,
      durationS: Math.round(Number(minutes) * 60),
      ...(kind === 'evChargingLimit' ? { unit: evUnit } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      const command = await post<Command>(`/api/devices/${enc(props.device.id)}/setpoints`, body);
      setSent(command);
      props.onSubmitted(command);
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="setpoint-form" data-testid="setpoint-form" onSubmit={submit}>
      <label>
        Kind
        <select data-testid="setpoint-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          {controls.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      <label htmlFor="setpoint-value">
        Value ({unit})
        {unit === 'on/off' ? (
          <select
            id="setpoint-value"
            data-testid="setpoint-value"
            value={value || '1'}
            onChange={(e) => setValue(e.currentTarget.value)}
          >
            <option value="1">on (1)</option>
            <option value="0">off (0)</option>
          </select>
        ) : (
          <input
            id="setpoint-value"
            data-testid="setpoint-value"
            type="number"
            step="any"
            required
            min={kind === 'fixedW' ? undefined : 0}
            max={unit === '%' ? 100 : undefined}
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        )}
      </label>
      {kind === 'evChargingLimit' ? (
        <label>
          Limit in
          <select value={evUnit} onChange={(e) => setEvUnit(e.currentTarget.value === 'A' ? 'A' : 'W')}>
            <option value="W">power (kW)</option>
            <option value="A">current (A)</option>
          </select>
        </label>
      ) : null}
      <label>
        For (min)
        <input
          data-testid="setpoint-minutes"
          type="number"
          min="1"
          max="525600"
          step="1"
          required
          value={minutes}
          onInput={(e) => setMinutes(e.currentTarget.value)}
        />
      </label>
      <button type="submit" data-testid="setpoint-submit" disabled={busy}>
        {busy ? 'Sending…' : 'Send setpoint'}
      </button>
      {kind === 'fixedW' ? <p class="muted small">fixedW: + discharge / export, − charge / import.</p> : null}
      <ErrorBox error={error} />
      {sent && error === undefined ? (
        <p class="ok" data-testid="setpoint-sent">
          Command <code>{sent.id}</code> accepted ({sent.status}); its state updates below.
        </p>
      ) : null}
    </form>
  );
}
