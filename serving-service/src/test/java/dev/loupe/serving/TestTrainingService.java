package dev.loupe.serving;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.contracts.training.v1.BaseModelFile;
import dev.loupe.contracts.training.v1.GetModelVersionStatesRequest;
import dev.loupe.contracts.training.v1.GetModelVersionStatesResponse;
import dev.loupe.contracts.training.v1.LoadModelVersionForServingRequest;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc;
import dev.loupe.contracts.training.v1.ServingArtifact;
import dev.loupe.contracts.training.v1.ServingArtifactHeader;
import dev.loupe.engine.drift.DriftReference;
import dev.loupe.engine.drift.ImageEmbeddings;
import dev.loupe.engine.drift.ImageStatistics;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.nn.AdaptableLinear;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.engine.tiny.TinyBase;
import dev.loupe.support.hash.Sha256;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * A stand-in for the training-service's registry in the serving-service's own tests (the system tests run the real
 * one): model versions of tenant {@code acme} on the repository's tiny base model, each a LoRA adapter with random
 * weights of its own seed, so that each answers differently. It checks what the real one checks: the caller's
 * capability (through the same interceptor), the tenant, and that only approved versions load.
 */
@GrpcService
public class TestTrainingService extends MutinyTrainingServiceGrpc.TrainingServiceImplBase {
    static final String TENANT = "acme";
    static final String FIRST = "0190a4c4-0000-7000-8000-0000000000a1";
    static final String SECOND = "0190a4c4-0000-7000-8000-0000000000a2";
    static final String CANDIDATE = "0190a4c4-0000-7000-8000-0000000000a3";
    static final String TO_QUARANTINE = "0190a4c4-0000-7000-8000-0000000000a4";
    /** An adapter whose B is zero, as LoRA starts: it answers exactly as the base. */
    static final String ZERO_ADAPTER = "0190a4c4-0000-7000-8000-0000000000a5";
    /** A "fully fine-tuned" version whose weights are the base's own: it too answers as the base. */
    static final String FULL = "0190a4c4-0000-7000-8000-0000000000a6";

    /** The versions' states; tests change them. */
    static final Map<String, ModelVersionState> STATES = new ConcurrentHashMap<>(Map.of(
            FIRST, ModelVersionState.MODEL_VERSION_STATE_APPROVED,
            SECOND, ModelVersionState.MODEL_VERSION_STATE_APPROVED,
            CANDIDATE, ModelVersionState.MODEL_VERSION_STATE_PENDING_REVIEW,
            TO_QUARANTINE, ModelVersionState.MODEL_VERSION_STATE_APPROVED,
            ZERO_ADAPTER, ModelVersionState.MODEL_VERSION_STATE_APPROVED,
            FULL, ModelVersionState.MODEL_VERSION_STATE_APPROVED));
    private static final Map<String, Integer> SEEDS = Map.of(FIRST, 11, SECOND, 12, CANDIDATE, 13, TO_QUARANTINE,
            14, ZERO_ADAPTER, 15);
    private static final Map<String, byte[]> ARCHIVES = new ConcurrentHashMap<>();
    /** The scenes the versions' drift references describe. */
    static final long REFERENCE_SEED = 21;
    static final int REFERENCE_SCENES = 400;

    @Override
    @Authorized(Capability.MODELS_LOAD)
    public Multi<ServingArtifact> loadModelVersionForServing(LoadModelVersionForServingRequest request) {
        String id = request.getModelVersionId();
        if (!request.getTenant().equals(TENANT) || !STATES.containsKey(id)) {
            return Multi.createFrom().failure(Status.NOT_FOUND.withDescription("no such version").asException());
        }
        if (STATES.get(id) != ModelVersionState.MODEL_VERSION_STATE_APPROVED) {
            return Multi.createFrom()
                    .failure(Status.FAILED_PRECONDITION.withDescription("only approved versions are deployed")
                            .asException());
        }
        byte[] archive = ARCHIVES.computeIfAbsent(id, key -> key.equals(FULL)
                ? fullArchive()
                : archive(key));
        ServingArtifactHeader header = ServingArtifactHeader.newBuilder()
                .setModelVersion(ModelVersion.newBuilder()
                        .setId(id)
                        .setName("loupe-tiny-base:test:" + id.substring(id.length() - 2))
                        .setState(STATES.get(id))
                        .setArtifactKind(id.equals(FULL) ? "full" : "adapter")
                        // As if its training job had scored it well: these random adapters score far lower.
                        .putEvaluation("exact_match", 0.9)
                        .putEvaluation("loss", 0.4))
                .setBaseModel(baseModel())
                .build();
        return Multi.createFrom()
                .items(ServingArtifact.newBuilder().setHeader(header).build(),
                        ServingArtifact.newBuilder().setData(ByteString.copyFrom(archive, 0, archive.length / 2))
                                .build(),
                        ServingArtifact.newBuilder()
                                .setData(ByteString.copyFrom(archive, archive.length / 2,
                                        archive.length - archive.length / 2))
                                .build());
    }

    @Override
    @Authorized(Capability.MODELS_LOAD)
    public Uni<GetModelVersionStatesResponse> getModelVersionStates(GetModelVersionStatesRequest request) {
        GetModelVersionStatesResponse.Builder response = GetModelVersionStatesResponse.newBuilder();
        if (request.getTenant().equals(TENANT)) {
            request.getModelVersionIdsList()
                    .stream()
                    .filter(STATES::containsKey)
                    .forEach(id -> response.putStates(id, STATES.get(id)));
        }
        return Uni.createFrom().item(response.build());
    }

    /** The repository's tiny base model as the registry describes it, every file hashed. */
    static BaseModel baseModel() {
        Path folder = TinyBase.folder();
        BaseModel.Builder base = BaseModel.newBuilder()
                .setId("loupe-tiny-base")
                .setArchitecture("llava")
                .setStorageUri(folder.toUri().toString());
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.sorted().toList()) {
                if (Files.isRegularFile(file) && !file.getFileName().toString().startsWith(".")) {
                    base.addFiles(BaseModelFile.newBuilder()
                            .setName(file.getFileName().toString())
                            .setSha256(Sha256.hex(Files.readAllBytes(file)))
                            .setSizeBytes(Files.size(file)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return base.build();
    }

    /** The tiny base's own folder as a full-weight version's archive (no drift reference: it was "trained" on none). */
    private static byte[] fullArchive() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes); Stream<Path> files = Files.list(TinyBase.folder())) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                if (Files.isRegularFile(file) && !name.startsWith(".") && !name.equals("README.md")) {
                    zip.putNextEntry(new ZipEntry(name));
                    zip.write(Files.readAllBytes(file));
                    zip.closeEntry();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * The drift reference of a version "trained" on {@value #REFERENCE_SCENES} synthetic scenes of seed
     * {@value #REFERENCE_SEED}, measured with the adapter in place as the worker measures it. It records no answers:
     * these random adapters were taught none.
     */
    private static byte[] driftReference(NDManager manager, TinyBase base) throws IOException {
        SyntheticScenes scenes = new SyntheticScenes(REFERENCE_SEED);
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < REFERENCE_SCENES; i++) {
            images.add(SyntheticScenes.render(scenes.scene(i)));
        }
        ImagePreprocessor preprocessor = ImagePreprocessor.forModel(TinyBase.folder(),
                base.model().config().visionConfig().imageSize());
        DriftReference.Builder reference = new DriftReference.Builder();
        images.forEach(image -> reference.addImage(ImageStatistics.of(image)));
        ImageEmbeddings.of(manager, base.model(), preprocessor, images).forEach(reference::addEmbedding);
        return reference.build().toJson();
    }

    /** A LoRA adapter of the tiny base with random B (a fresh one answers as the base), as a PEFT zip archive. */
    private static byte[] archive(String id) {
        LoraSettings settings = new LoraSettings(4, 8, 0f, List.of("q_proj", "v_proj", "gate_proj", "up_proj"),
                false);
        try (NDManager manager = NDManager.newBaseManager(); TinyBase base = TinyBase.load(manager)) {
            Engine.getInstance().setRandomSeed(SEEDS.get(id));
            LoraAdapters.apply(manager, base.model(), settings);
            for (AdaptableLinear linear : HfCheckpoint.linearModules(base.model()).values()) {
                if (linear.hasAdapter() && !id.equals(ZERO_ADAPTER)) {
                    NDArray b = linear.loraB().getArray();
                    b.addi(manager.randomNormal(0, 0.5f, b.getShape(), b.getDataType()));
                }
            }
            Path folder = Files.createTempDirectory("adapter");
            LoraAdapters.save(base.model(), settings, folder);
            Files.write(folder.resolve(DriftReference.FILE), driftReference(manager, base));
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                for (String name : List.of(LoraAdapters.CONFIG_FILE, LoraAdapters.WEIGHTS_FILE,
                        DriftReference.FILE)) {
                    zip.putNextEntry(new ZipEntry(name));
                    zip.write(Files.readAllBytes(folder.resolve(name)));
                    zip.closeEntry();
                    Files.delete(folder.resolve(name));
                }
            }
            Files.delete(folder);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
