package dev.loupe.serving.inference;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import ai.djl.ndarray.NDManager;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import org.jboss.logging.Logger;

import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.engine.drift.DriftReference;
import dev.loupe.engine.model.AdapterWeights;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.serve.ServedModel;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.model.Deployment;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.hash.Sha256;

/**
 * The deployments this service answers for, in memory. Each base model is loaded once, from the folder the registry
 * names, after every file is checked against the hashes registered for it; every deployment on it adds only its
 * adapter. A base is freed when its last deployment goes.
 */
@ApplicationScoped
public class LoadedDeployments {
    private static final Logger LOG = Logger.getLogger(LoadedDeployments.class);
    /** An adapter archive larger than this is refused rather than held in memory. */
    private static final long MAX_ADAPTER_BYTES = 2L << 30;
    private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY_FOLDER = PosixFilePermissions
            .asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY_FILE = PosixFilePermissions
            .asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final Map<String, BaseHost> bases = new HashMap<>();
    private final Map<String, ServedDeployment> byId = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private final ServingConfig config;

    public LoadedDeployments(MeterRegistry registry, ServingConfig config) {
        this.registry = registry;
        this.config = config;
    }

    /**
     * Loads a deployment: its base (unless already loaded) and its adapter from the version's zip archive.
     *
     * @param trainingEvaluation the version's scores on its training job's validation split, which scheduled
     *        evaluations compare with
     * @throws ProblemException when the version is not an adapter, the base's files differ from the registered
     *         ones, or the adapter does not fit the base
     */
    public synchronized ServedDeployment load(Deployment deployment, String artifactKind, BaseModel base,
            byte[] archive, Map<String, Double> trainingEvaluation) {
        if ("full".equals(artifactKind)) {
            return loadFullWeights(deployment, archive, trainingEvaluation);
        }
        if (!"adapter".equals(artifactKind)) {
            throw new ProblemException(ProblemType.CONFLICT, "model version " + deployment.modelVersionName()
                    + " holds weights of a kind Loupe does not serve: " + artifactKind);
        }
        unload(deployment.id());
        BaseHost host = bases.get(base.getId());
        if (host == null) {
            host = loadBase(base);
            bases.put(base.getId(), host);
        }
        AdapterWeights adapter;
        Map<String, byte[]> files;
        try {
            files = unzip(archive);
            byte[] config = files.get(LoraAdapters.CONFIG_FILE);
            byte[] weights = files.get(LoraAdapters.WEIGHTS_FILE);
            if (config == null || weights == null) {
                throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "model version "
                        + deployment.modelVersionName() + " has no " + LoraAdapters.CONFIG_FILE + " and "
                        + LoraAdapters.WEIGHTS_FILE);
            }
            adapter = host.model().readAdapter(config, weights);
        } catch (IOException e) {
            releaseIfUnused(host);
            throw new ProblemException(ProblemType.CONFLICT, "model version " + deployment.modelVersionName()
                    + " does not fit its base model " + base.getId() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            // A base loaded for this deployment alone goes again.
            releaseIfUnused(host);
            throw e;
        }
        ServedDeployment served = new ServedDeployment(deployment, host, adapter,
                DriftMonitor.of(files.get(DriftReference.FILE), config.drift().windowSize()), trainingEvaluation);
        served.stats(new DeploymentStats(registry, deployment, served));
        byId.put(deployment.id(), served);
        LOG.infof("Deployment %s (%s) serves %s on %s: adapter %d bytes beside %d bytes of shared base weights",
                deployment.name(), deployment.id(), deployment.modelVersionName(), base.getId(), adapter.bytes(),
                host.model().weightBytes());
        return served;
    }

    /**
     * Loads a fully fine-tuned version: its own weights, tokenizer and preprocessing, in a host of its own (nothing
     * to share with other deployments). The files are decrypted into an owner-only folder in memory
     * ({@code loupe.serving.full-weights.scratch-dir}, RAM-backed), read, and deleted before this returns: decrypted
     * weights never reach a disk.
     */
    private ServedDeployment loadFullWeights(Deployment deployment, byte[] archive,
            Map<String, Double> trainingEvaluation) {
        unload(deployment.id());
        Map<String, byte[]> files = unzip(archive);
        Path scratchRoot = config.fullWeights().scratchDir().orElseThrow(() -> new ProblemException(
                ProblemType.CONFLICT, "model version " + deployment.modelVersionName() + " holds full weights, and "
                        + "no RAM-backed folder is configured to read them from (loupe.serving.full-weights.scratch-dir)"));
        String hostId = "full:" + deployment.id();
        NDManager manager = NDManager.newBaseManager();
        BaseHost host;
        Path scratch = null;
        try {
            Files.createDirectories(scratchRoot, OWNER_ONLY_FOLDER);
            scratch = Files.createTempDirectory(scratchRoot, "deployment-", OWNER_ONLY_FOLDER);
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                String name = file.getKey();
                if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                    throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "model version "
                            + deployment.modelVersionName() + " holds a file named " + name + ", which is no file of"
                            + " a model folder");
                }
                Path target = Files.createFile(scratch.resolve(name), OWNER_ONLY_FILE);
                Files.write(target, file.getValue());
            }
            host = new BaseHost(hostId, manager, ServedModel.load(manager, scratch), config.batching().maxWait(),
                    config.batching().joinWait(), config.drift().queue(),
                    DistributionSummary.builder("loupe.inference.batch.size")
                            .description("Requests generated together")
                            .tag("base_model", hostId)
                            .register(registry));
        } catch (IOException | RuntimeException e) {
            manager.close();
            if (e instanceof ProblemException problem) {
                throw problem;
            }
            throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "model version "
                    + deployment.modelVersionName() + " cannot be loaded: " + e.getMessage());
        } finally {
            deleteQuietly(scratch);
        }
        bases.put(hostId, host);
        ServedDeployment served = new ServedDeployment(deployment, host, null,
                DriftMonitor.of(files.get(DriftReference.FILE), config.drift().windowSize()), trainingEvaluation);
        served.stats(new DeploymentStats(registry, deployment, served));
        byId.put(deployment.id(), served);
        LOG.infof("Deployment %s (%s) serves %s with its own %d bytes of weights", deployment.name(),
                deployment.id(), deployment.modelVersionName(), host.model().weightBytes());
        return served;
    }

    private static void deleteQuietly(Path folder) {
        if (folder == null) {
            return;
        }
        try (Stream<Path> entries = Files.list(folder)) {
            for (Path entry : entries.toList()) {
                Files.deleteIfExists(entry);
            }
            Files.deleteIfExists(folder);
        } catch (IOException e) {
            LOG.errorf(e, "the decrypted weights in %s could not be deleted", folder);
        }
    }

    private BaseHost loadBase(BaseModel base) {
        Path folder;
        try {
            folder = Path.of(URI.create(base.getStorageUri()));
        } catch (IllegalArgumentException e) {
            throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "base model " + base.getId()
                    + " has a storage_uri that is not a file: URI");
        }
        verify(base, folder);
        NDManager manager = NDManager.newBaseManager();
        try {
            return new BaseHost(base.getId(), manager, ServedModel.load(manager, folder),
                    config.batching().maxWait(), config.batching().joinWait(), config.drift().queue(),
                    DistributionSummary.builder("loupe.inference.batch.size")
                            .description("Requests generated together")
                            .tag("base_model", base.getId())
                            .register(registry));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "base model " + base.getId()
                    + " cannot be loaded: " + e.getMessage());
        }
    }

    /** The folder must hold exactly the registered files, each with its registered hash. */
    private static void verify(BaseModel base, Path folder) {
        Set<String> registered = new TreeSet<>();
        base.getFilesList().forEach(file -> registered.add(file.getName()));
        Set<String> present = new TreeSet<>();
        try (Stream<Path> entries = Files.list(folder)) {
            entries.filter(Files::isRegularFile)
                    .map(path -> path.getFileName().toString())
                    .filter(name -> !name.startsWith("."))
                    .forEach(present::add);
            if (!present.equals(registered)) {
                throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "base model " + base.getId()
                        + " at " + folder + " holds the files " + present + ", registered were " + registered);
            }
            for (BaseModelFile file : base.getFilesList()) {
                String hash = Sha256.file(folder.resolve(file.getName()));
                if (!hash.equals(file.getSha256())) {
                    throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "base model " + base.getId()
                            + ": " + file.getName() + " changed since it was registered");
                }
            }
        } catch (IOException e) {
            throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "base model " + base.getId()
                    + " cannot be read at " + folder + ": " + e.getMessage());
        }
    }

    private static Map<String, byte[]> unzip(byte[] archive) {
        Map<String, byte[]> files = new HashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(archive))) {
            long total = 0;
            for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                byte[] bytes = zip.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, MAX_ADAPTER_BYTES - total + 1));
                total += bytes.length;
                if (total > MAX_ADAPTER_BYTES) {
                    throw new ProblemException(ProblemType.CONFLICT, "the adapter is larger than "
                            + MAX_ADAPTER_BYTES + " bytes");
                }
                files.put(entry.getName(), bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** The tenant's deployment of that name or id, if this service serves it. */
    public Optional<ServedDeployment> find(String tenant, String nameOrId) {
        ServedDeployment byKey = byId.get(nameOrId);
        if (byKey != null && byKey.deployment().tenant().equals(tenant)) {
            return Optional.of(byKey);
        }
        return byId.values()
                .stream()
                .filter(served -> served.deployment().tenant().equals(tenant)
                        && served.deployment().name().equals(nameOrId))
                .findFirst();
    }

    public boolean isLoaded(String deploymentId) {
        return byId.containsKey(deploymentId);
    }

    /** Every loaded deployment. */
    public Map<String, ServedDeployment> loaded() {
        return Map.copyOf(byId);
    }

    /**
     * Queues a request for its deployment's next batch.
     *
     * @param stops texts the completion ends before
     * @param cancelled set it when the caller goes away: the request leaves the queue or its row ends
     *
     * @throws ProblemException (rate-limited) when the deployment already holds its maximum of requests
     */
    public CompletableFuture<CompletionResult> submit(ServedDeployment deployment, ServedModel.Request request,
            List<String> stops, CompletionListener listener, AtomicBoolean cancelled) {
        if (!deployment.admission().tryAcquire()) {
            throw new ProblemException(ProblemType.RATE_LIMITED, "deployment " + deployment.deployment().name()
                    + " already has " + deployment.deployment().maxConcurrentSequences()
                    + " requests in progress; retry shortly");
        }
        PendingCompletion pending = new PendingCompletion(deployment, request,
                new CompletionText(deployment.host().model()::decode, stops), listener, cancelled);
        // The permit goes back when the generation thread is done with the request, not when its caller stops
        // waiting: a request that times out in the queue still holds its place until the thread drops it.
        pending.result.whenComplete((result, failure) -> deployment.admission().release());
        try {
            deployment.host().submit(pending);
        } catch (ProblemException e) {
            deployment.admission().release();
            throw e;
        }
        return pending.result.copy();
    }

    /** Stops serving a deployment (its waiting requests fail); frees its base when no deployment is left on it. */
    public synchronized void unload(String deploymentId) {
        ServedDeployment served = byId.remove(deploymentId);
        if (served == null) {
            return;
        }
        served.host().unload(served);
        served.stats().close();
        releaseIfUnused(served.host());
        LOG.infof("Deployment %s (%s) unloaded", served.deployment().name(), deploymentId);
    }

    private void releaseIfUnused(BaseHost host) {
        boolean used = byId.values().stream().anyMatch(served -> served.host() == host);
        if (!used) {
            bases.remove(host.baseModelId());
            host.close();
        }
    }

    @PreDestroy
    synchronized void closeAll() {
        for (String id : Set.copyOf(byId.keySet())) {
            unload(id);
        }
    }
}
