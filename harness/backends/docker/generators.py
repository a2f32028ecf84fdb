"""Load generators on Docker engines of their own (`harness run --loadgen-engines`): one container of the
load generator's image per engine, each on its own host's CPUs, all driven as one load by the scenario
that needs them (http splits its stages between them). Their image is the run's own: copied from the
run's engine when it has one and the architectures match (the same content, nothing built on the
generator's host), else built on the generator's engine from the same recipe."""

from __future__ import annotations

from collections.abc import Callable

from harness.backends.base import Prepared
from harness.backends.docker import containers, engine, workload_images
from harness.backends.docker.base_images import LABEL
from harness.errors import HarnessError
from harness.measure.trial import LoadGenerator


def far_generators(
    urls: list[str], loadgen: Prepared | None, local_cpus: list[int], nofile: int, log: Callable[[str], None]
) -> tuple[LoadGenerator, ...]:
    """One generator per engine URL (unix://, ssh://, tcp://), in the order given."""
    from harness.subjects import LOADGEN

    out, on_this_machine = [], []
    for url in urls:
        eng = engine.connect(10, url)
        if eng is None:
            raise HarnessError(f"loadgen.engines: no Docker engine answers at {url}: start it, or leave it out")
        ours = loadgen.launcher if loadgen and isinstance(loadgen.launcher, containers.ContainerLauncher) else None
        if ours is not None and ours.engine.arch == eng.arch:
            tag = copy_image(ours.engine, eng, ours.image, log)
        else:  # built there from the same recipe, its base images first (mmdebstrap where there is no registry)
            from harness.backends.docker import DockerBackend

            DockerBackend(eng, eng.arch).ensure_base_images([LOADGEN], log)
            tag = workload_images.build_image(eng, LOADGEN, eng.arch, log).tag
        memory = int(eng.info.get("MemTotal") or 8 << 30) * 3 // 4
        launcher = containers.ContainerLauncher(eng, tag, memory, nofile, {f"{LABEL}.runtime": "loadgen"})
        # an engine on this machine shares its CPUs: its generator takes the run's load generator CPUs
        cpus = local_cpus if eng.local else list(range(int(eng.info.get("NCPU") or 1)))
        if eng.local:
            on_this_machine.append(url)
        prefix = LOADGEN.launch(workload_images.BuiltImage.artifact_dir, 0, {}, None)
        out.append(LoadGenerator(prefix, cpus, launcher, where=url, host=str(eng.info.get("Name") or url)))
        containers.remove_leftovers(eng)
    if len(on_this_machine) > 1:
        log(
            f"load generators {', '.join(on_this_machine)} share this machine's load generator CPUs: give them "
            "http.spin_us=0 (generators spinning on one CPU delay each other's sends: p50 five times the one "
            "generator's, measured)"
        )
    return tuple(out)


def copy_image(source: engine.Engine, target: engine.Engine, tag: str, log: Callable[[str], None]) -> str:
    """`tag` on `target`, streamed from `source` (docker save | docker load) unless it is there already."""
    import docker

    try:
        target.client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    log(f"copying {tag} to the generator engine {target.docker_host} ...")
    target.client.images.load(source.client.images.get(tag).save(named=True))
    return tag
