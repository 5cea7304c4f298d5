"""Sweep specifications: what to vary, how to sample it, how many replicates (validated TOML).

    name = "devolution_x_resources"
    base = "baseline"            # a built-in scenario name or a path relative to this file
    preset = "city"
    days = 365
    replicates = 5
    seed = 2024                  # root seed: replicate r gets the same seed at every point
    sampler = "grid"             # grid | lhs | sobol | morris
    samples = 16                 # lhs: points; sobol: N (points = N x (d + 2)); morris: trajectories
    thin = 7                     # keep every 7th day of each run's time series
    effects = ["incentives"]     # optional: reform arms (cogov reproduce's) also run at every point, on the
                                 # same seeds; cogov sensitivity then gives the indices of their effects

    [parameters.authority_devolution]     # a lever, or section.field (e.g. "handling.skill_street")
    values = [0.0, 0.5, 1.0]              # grid: the values to cross
    [parameters.resources_follow]
    low = 0.0                             # lhs / sobol / morris: a range
    high = 1.0
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..params import (LEVER_NAMES, NAME_PATTERN, Scenario, ScenarioError, builtin_path, format_error, builtin_names, load_scenario,
                      read_toml, scenarios_dir)
from ..streams import replicate_seeds

class SpecError(ScenarioError):
    """A sweep specification cannot be used (message names the file, the key and what is allowed)."""


def parameter_names() -> list[str]:
    """Every name a sweep may vary: the levers, and ``section.field`` for mechanism parameters."""
    names = list(LEVER_NAMES)
    for section, field in Scenario.model_fields.items():
        sub = getattr(field.annotation, "model_fields", None)
        if sub and section != "levers":
            names += [f"{section}.{name}" for name in sub]
    return names


def path_of(name: str) -> tuple[str, str]:
    return ("levers", name) if "." not in name else tuple(name.split(".", 1))


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    values: list[float] | None = Field(None, description="values to cross (grid)", max_length=100_000)
    low: float | None = Field(None, description="lower end of the range (samplers)")
    high: float | None = Field(None, description="upper end of the range (samplers)")

    @model_validator(mode="after")
    def _one_kind(self):
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either values = [...] or low and high, not both")
        if self.values is None and not has_range:
            raise ValueError("give values = [...] (grid) or low and high (samplers)")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high")
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        elif not self.values:
            raise ValueError("values must not be empty")
        return self


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    name: str = Field("sweep", description="short name: letters, digits, _ . - # (names the output folder)",
                      pattern=NAME_PATTERN, max_length=80)
    base: str = Field("baseline", description="base scenario: a built-in name or a path relative to the spec")
    preset: Literal["classroom", "city", "tianjin"] | None = Field(None, description="structure preset (default: the base's)")
    days: int | None = Field(None, ge=1, le=36500, description="days per run (default: the base's)")
    replicates: int = Field(1, ge=1, le=10_000, description="replicates per point (common random numbers)")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="root seed")
    sampler: Literal["grid", "lhs", "sobol", "morris"] = Field("grid", description="how points are chosen")
    samples: int = Field(8, ge=1, le=1_000_000, description="lhs points, sobol N, or morris trajectories")
    thin: int = Field(1, ge=1, le=36500, description="keep every thin-th day of each time series")
    parameters: dict[str, Parameter] = Field(default_factory=dict, description="what varies")
    effects: list[str] = Field(default_factory=list, max_length=20,
                               description="reform arms of cogov reproduce (e.g. incentives, info_sharing) run at "
                                           "every point beside the point itself, on the same seeds: cogov "
                                           "sensitivity then gives the indices of their effects (arm - point)")

    @model_validator(mode="after")
    def _check(self):
        allowed = parameter_names()
        for name in self.parameters:
            if name not in allowed:
                raise ValueError(f"unknown parameter {name!r}; allowed: the levers ({', '.join(LEVER_NAMES)}) "
                                 "or section.field of a mechanism parameter (see docs/ODD.md)")
        if not self.parameters:
            raise ValueError("no parameters to vary: add a [parameters.NAME] table")
        kinds = {"grid" if p.values is not None else "range" for p in self.parameters.values()}
        if self.sampler == "grid" and kinds != {"grid"}:
            raise ValueError("sampler 'grid' needs values = [...] for every parameter")
        if self.sampler != "grid" and kinds != {"range"}:
            raise ValueError(f"sampler {self.sampler!r} needs low and high for every parameter")
        from .claims import ARMS
        arms = [a for a in ARMS if a != "baseline"]
        for name in self.effects:
            if name not in arms:
                raise ValueError(f"effects: unknown arm {name!r}; allowed: {', '.join(arms)}")
        if len(set(self.effects)) != len(self.effects):
            raise ValueError("effects: an arm is named twice")
        return self


#: A sweep of more runs than this is refused unless ``max_tasks`` (``--max-tasks``) says otherwise: a
#: typo in ``samples`` or ``replicates`` should not start a study of months (a city run takes ~15 s).
MAX_TASKS = 20_000


def n_tasks(spec: SweepSpec) -> int:
    """How many runs the spec means (points x replicates), counted without sampling."""
    d = len(spec.parameters)
    if spec.sampler == "grid":
        points = math.prod(len(p.values) for p in spec.parameters.values())
    else:
        points = spec.samples * {"lhs": 1, "sobol": d + 2, "morris": d + 1}[spec.sampler]
    return points * spec.replicates * (1 + len(spec.effects))


def load_spec(path: str | Path, max_tasks: int = MAX_TASKS, **overrides) -> tuple[SweepSpec, Scenario]:
    """Load and validate a sweep spec and its base scenario; a spec of more than ``max_tasks`` runs
    is refused. Raises SpecError."""
    path = Path(path)
    if not path.is_file():
        builtin = scenarios_dir() / "sweeps" / f"{Path(path).stem}.toml"
        if Path(path).parent == Path(".") and builtin.is_file():
            path = builtin  # a built-in spec by name
        else:
            names = ", ".join(sorted(f.stem for f in (scenarios_dir() / "sweeps").glob("*.toml")))
            raise SpecError(f"sweep spec not found: {path} (built-in specs: {names})")
    raw = read_toml(path, SpecError)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_error(path, exc, SweepSpec)) from None
    if (n := n_tasks(spec)) > max_tasks:
        raise SpecError(f"{path}: keys 'samples', 'replicates' and 'parameters' mean {n:,} runs, more than "
                        f"the {max_tasks:,} allowed; pass --max-tasks {n} if you mean it")
    from ..memory import check_task_memory
    check_task_memory(n, f"{path}: keys 'samples', 'replicates' and 'parameters'")
    base = path.parent / spec.base  # a path relative to the spec, else the name of a built-in scenario
    source = base if base.is_file() else builtin_path(spec.base)
    if source is None:
        raise SpecError(f"{path}: key 'base': no file {base} and no built-in scenario named {spec.base!r}; "
                        f"built-in: {', '.join(builtin_names())}")
    try:
        scenario = load_scenario(source, preset=spec.preset, days=spec.days)
    except ScenarioError as exc:
        raise SpecError(f"{path}: key 'base': {exc}") from None
    for name, p in spec.parameters.items():  # every value must be valid for its parameter
        for label, values in (("values", p.values), ("low", [p.low]), ("high", [p.high])):
            for v in values or []:
                if v is None:
                    continue
                try:
                    apply_parameters(scenario, {name: v})
                except ScenarioError as exc:
                    detail = str(exc).split(": key ", 1)[-1]
                    raise SpecError(f"{path}: key 'parameters.{name}.{label}': {v} is not allowed "
                                    f"(key {detail})") from None
    return spec, scenario


def apply_parameters(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """A copy of ``scenario`` with ``values`` set (validated)."""
    data = scenario.model_dump()
    for name, v in values.items():
        section, field = path_of(name)
        kind = Scenario.model_fields[section].annotation.model_fields[field].annotation
        data[section][field] = int(round(v)) if kind in (int, int | None) else float(v)  # a count stays whole
    return load_scenario(data)


def problem(spec: SweepSpec) -> dict:
    """The SALib problem of a range spec."""
    names = list(spec.parameters)
    return {"num_vars": len(names), "names": names,
            "bounds": [[spec.parameters[n].low, spec.parameters[n].high] for n in names]}


def sample_points(spec: SweepSpec) -> np.ndarray:
    """The points (rows) of the sweep, one column per parameter, in spec order."""
    names = list(spec.parameters)
    if spec.sampler == "grid":
        return np.array(list(itertools.product(*(spec.parameters[n].values for n in names))), dtype=float)
    prob = problem(spec)
    if spec.sampler == "lhs":
        from scipy.stats import qmc
        unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(spec.seed)).random(spec.samples)
        lo = np.array([b[0] for b in prob["bounds"]])
        hi = np.array([b[1] for b in prob["bounds"]])
        return lo + unit * (hi - lo)
    if spec.sampler == "sobol":
        from SALib.sample import sobol
        return sobol.sample(prob, spec.samples, calc_second_order=False, seed=spec.seed)
    from SALib.sample import morris
    return morris.sample(prob, spec.samples, num_levels=4, seed=spec.seed)


def run_key(scenario: Scenario, seed: int) -> str:
    """A stable key of one run: the fully resolved scenario but its descriptions (text that changes
    nothing a run computes), the seed and the model version."""
    from .. import __version__
    data = scenario.model_dump(mode="json", exclude={"description", "description_zh"})
    data["seed"] = seed
    blob = json.dumps({"scenario": data, "cogov": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def build_tasks(spec: SweepSpec, scenario: Scenario) -> list[dict]:
    """Every (point, replicate) as a task; replicate r has the same seed at every point. With
    ``effects``, every point also runs each arm on top of the point (``arm`` 1, 2, ...; the point
    itself is arm 0), on the same seeds."""
    from .claims import ARMS, build_arm

    seeds = replicate_seeds(spec.seed, spec.replicates)
    names = list(spec.parameters)
    tasks = []
    for i, row in enumerate(sample_points(spec)):
        point = apply_parameters(scenario, dict(zip(names, (float(x) for x in row))))
        values = {n: float(getattr(getattr(point, path_of(n)[0]), path_of(n)[1])) for n in names}  # as applied
        arms = [point] + [build_arm(point, name, ARMS[name]) for name in spec.effects]
        for a, arm in enumerate(arms):
            for r, seed in enumerate(seeds):
                sc = arm.model_copy(update={"seed": seed})
                task = {"key": run_key(sc, seed), "point": i, "replicate": r, "seed": seed,
                        "values": values, "scenario": sc.model_dump(mode="json"), "thin": spec.thin}
                if spec.effects:
                    task["arm"] = a
                tasks.append(task)
    return tasks
