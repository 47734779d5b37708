package dev.loupe.training.service;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.error.SqlStates;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.BaseModel;
import dev.loupe.training.modelstore.InspectedCheckpoint;
import dev.loupe.training.modelstore.ModelStore;
import dev.loupe.training.repository.BaseModelRepository;
import dev.loupe.training.repository.OutboxRepository;

/**
 * Registering and listing base models. They belong to the platform: platform operators register them, every
 * tenant's jobs start from them. A registration reads the whole checkpoint (every file hashed) on a worker
 * thread, then stores the model and its {@value #REGISTERED} audit event in one transaction.
 */
@ApplicationScoped
public class BaseModelService {
    static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");
    static final int MAX_DISPLAY_NAME_LENGTH = 200;
    /** The only architecture family Loupe's engine runs so far. */
    static final String LLAVA = "llava";
    /** The {@code source} of this service's audit events, and its name as the registrant of what it registers. */
    public static final String AUDIT_SOURCE = "training-service";
    static final String REGISTERED = "model.base.registered";

    private final BaseModelRepository baseModels;
    private final OutboxRepository outbox;
    private final ModelStore store;
    private final TrainingConfig config;

    public BaseModelService(BaseModelRepository baseModels, OutboxRepository outbox, ModelStore store,
            TrainingConfig config) {
        this.baseModels = baseModels;
        this.outbox = outbox;
        this.store = store;
        this.config = config;
    }

    /**
     * Registers the checkpoint a platform operator names. Refuses a taken id before reading any file.
     *
     * @param caller captured on the request's thread: the work continues on others
     */
    public Uni<BaseModel> register(Caller caller, String id, String displayName, String architecture,
            String storageUri) {
        ProblemException invalid = validate(id, displayName, architecture);
        if (invalid != null) {
            return Uni.createFrom().failure(invalid);
        }
        return exists(id).chain(taken -> {
            if (taken) {
                return Uni.createFrom().failure(alreadyExists(id));
            }
            return onWorkerThread(() -> store.inspect(storageUri)).chain(checkpoint -> {
                BaseModel model = newModel(id, nameOrId(displayName, id), checkpoint);
                model.createdByUserId = caller.userId();
                model.createdByUsername = caller.username();
                model.createdByService = "";
                return Panache.withTransaction(() -> insert(model,
                        AuditEvents.byCaller(caller, AUDIT_SOURCE, REGISTERED, "base_model", id,
                                Outcome.OUTCOME_SUCCESS, details(model))));
            });
        });
    }

    /**
     * Registers a checkpoint the service's own configuration names (the tiny base model), with the service as its
     * registrant and the audit event's actor. Must run on a Vert.x context.
     *
     * @throws ProblemException (already-exists) when the id is taken
     */
    public Uni<BaseModel> registerBySystem(String id, String displayName, InspectedCheckpoint checkpoint) {
        ProblemException invalid = validate(id, displayName, checkpoint.architecture());
        if (invalid != null) {
            return Uni.createFrom().failure(invalid);
        }
        BaseModel model = newModel(id, nameOrId(displayName, id), checkpoint);
        model.createdByUserId = "";
        model.createdByUsername = "";
        model.createdByService = AUDIT_SOURCE;
        return Panache.withTransaction(() -> insert(model, AuditEvents.bySystem(AUDIT_SOURCE, "", REGISTERED,
                "base_model", id, Outcome.OUTCOME_SUCCESS, details(model))));
    }

    /** A base model; NOT_FOUND when there is none with this id. */
    @WithSession
    public Uni<BaseModel> get(String id) {
        return baseModels.findById(id).map(model -> {
            if (model == null) {
                throw ProblemException.notFound("base model", id);
            }
            return model;
        });
    }

    /** Whether a base model with this id exists. Must run on a Vert.x context. */
    public Uni<Boolean> exists(String id) {
        return Panache.withSession(() -> baseModels.findById(id)).map(Objects::nonNull);
    }

    /** Base models in id order, after the cursor (a base model id). */
    @WithSession
    public Uni<Page<BaseModel>> list(int limit, String after) {
        int pageSize;
        try {
            pageSize = config.pagination().pageSize(limit);
        } catch (ProblemException e) {
            return Uni.createFrom().failure(e);
        }
        if (!after.isEmpty() && !ID.matcher(after).matches()) {
            return Uni.createFrom()
                    .failure(ProblemException.invalid("after", "after must be the next_after of a previous page"));
        }
        return baseModels.listAfter(after, pageSize + 1).map(found -> Page.of(found, pageSize, model -> model.id));
    }

    private Uni<BaseModel> insert(BaseModel model, AuditEvent event) {
        return baseModels.persistAndFlush(model)
                .onFailure(SqlStates::isUniqueViolation)
                .transform(e -> alreadyExists(model.id))
                .call(() -> outbox.add(event));
    }

    private static BaseModel newModel(String id, String displayName, InspectedCheckpoint checkpoint) {
        BaseModel model = new BaseModel();
        model.id = id;
        model.displayName = displayName;
        model.architecture = checkpoint.architecture();
        model.parameterCount = checkpoint.parameterCount();
        model.storageUri = checkpoint.storageUri();
        model.contentHash = checkpoint.contentHash();
        model.fileManifest = new TreeMap<>(checkpoint.files());
        // PostgreSQL keeps microseconds: truncate so the answer equals what a later read returns.
        model.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        return model;
    }

    private static Map<String, Object> details(BaseModel model) {
        return Map.of("display_name", model.displayName, "architecture", model.architecture, "parameter_count",
                model.parameterCount, "storage_uri", model.storageUri, "content_hash", model.contentHash, "files",
                model.fileManifest.size());
    }

    private static ProblemException alreadyExists(String id) {
        return new ProblemException(ProblemType.ALREADY_EXISTS, "a base model with id '" + id + "' already exists",
                "id");
    }

    private static String nameOrId(String displayName, String id) {
        return displayName.isEmpty() ? id : displayName;
    }

    /**
     * Runs blocking work (reading a checkpoint) on a worker thread and goes on with its result on the caller's
     * Vert.x context, where Hibernate Reactive's sessions live.
     */
    private static <T> Uni<T> onWorkerThread(Supplier<T> work) {
        Context context = Vertx.currentContext();
        Uni<T> blocking = Uni.createFrom().item(work).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
        return context == null ? blocking : blocking.emitOn(command -> context.runOnContext(ignored -> command.run()));
    }

    static ProblemException validate(String id, String displayName, String architecture) {
        if (id.isEmpty()) {
            return ProblemException.invalid("id", "id is required");
        }
        if (!ID.matcher(id).matches()) {
            return ProblemException.invalid("id",
                    "id must be 1 to 100 lower-case letters, digits, '.', '_' or '-', starting with a letter or"
                            + " digit");
        }
        if (Ids.parse(id).isPresent()) {
            // GET /v1/models/{id} tells a base model from a fine-tuned version by this form.
            return ProblemException.invalid("id", "id must not have the form of a UUID, which names fine-tuned model"
                    + " versions");
        }
        if (displayName.length() > MAX_DISPLAY_NAME_LENGTH) {
            return ProblemException.invalid("display_name",
                    "display_name must be at most " + MAX_DISPLAY_NAME_LENGTH + " characters");
        }
        if (displayName.chars().anyMatch(Character::isISOControl)) {
            return ProblemException.invalid("display_name", "display_name must not contain control characters");
        }
        if (!architecture.isEmpty() && !architecture.equals(LLAVA)) {
            return ProblemException.invalid("architecture",
                    "architecture must be llava (the only family Loupe runs so far), or empty to read it from the"
                            + " checkpoint");
        }
        return null;
    }
}
