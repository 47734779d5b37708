package dev.loupe.dataset.service;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.config.DatasetConfig;
import dev.loupe.dataset.model.Dataset;
import dev.loupe.dataset.model.IdempotencyKey;
import dev.loupe.dataset.repository.DatasetRepository;
import dev.loupe.dataset.repository.IdempotencyKeyRepository;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.error.SqlStates;
import dev.loupe.support.hash.Sha256;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;

/**
 * Creating, reading and listing datasets, always within the caller's tenant (deleting them is the
 * {@link RetentionService}'s). An id of another tenant
 * is answered exactly like an id that does not exist.
 */
@ApplicationScoped
public class DatasetService {
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    static final int MAX_DESCRIPTION_LENGTH = 2000;
    static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;
    static final String CREATE_OPERATION = "dataset.create";
    /** PostgreSQL's SQLSTATE for a unique constraint violation. */

    /** A created (or, for a retried Idempotency-Key, previously created) dataset. */
    public record Created(Dataset dataset, boolean replayed) {
    }

    /** One page of a list. */
    public record Page(List<Dataset> datasets, boolean hasMore) {
    }

    /** The {@code source} of this service's audit events. */
    static final String AUDIT_SOURCE = "dataset-service";

    private final DatasetRepository datasets;
    private final IdempotencyKeyRepository idempotencyKeys;
    private final OutboxRepository outbox;
    private final DatasetConfig config;

    public DatasetService(DatasetRepository datasets, IdempotencyKeyRepository idempotencyKeys,
            OutboxRepository outbox, DatasetConfig config) {
        this.datasets = datasets;
        this.idempotencyKeys = idempotencyKeys;
        this.outbox = outbox;
        this.config = config;
    }

    /**
     * Creates a dataset. With an Idempotency-Key, the key is claimed in the same transaction as the insert; a
     * concurrent request with the same key waits for that transaction and then answers with its result.
     */
    public Uni<Created> create(Caller caller, String name, String description, String idempotencyKey) {
        ProblemException invalid = validateCreate(name, description, idempotencyKey);
        if (invalid != null) {
            return Uni.createFrom().failure(invalid);
        }
        if (idempotencyKey.isEmpty()) {
            return Panache.withTransaction(() -> insert(caller, Ids.newId(), name, description))
                    .map(dataset -> new Created(dataset, false));
        }
        String requestHash = Sha256.hex((name + "\u0000" + description).getBytes(StandardCharsets.UTF_8));
        IdempotencyKey.Key keyId = new IdempotencyKey.Key(caller.requireTenant(), CREATE_OPERATION, idempotencyKey);
        return Panache.withTransaction(() -> createOnce(caller, keyId, requestHash, name, description))
                .onFailure(KeyClaimedConcurrently.class)
                .recoverWithUni(() -> Panache.withTransaction(() -> idempotencyKeys.findById(keyId)
                        .chain(winner -> winner != null
                                ? replay(winner, requestHash)
                                : Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT,
                                        "a concurrent request with this Idempotency-Key did not finish; retry",
                                        "Idempotency-Key")))));
    }

    private Uni<Created> createOnce(Caller caller, IdempotencyKey.Key keyId, String requestHash, String name,
            String description) {
        Instant now = Instant.now();
        Instant oldestValid = now.minus(config.idempotency().retention());
        return idempotencyKeys.findById(keyId).chain(previous -> {
            if (previous != null && previous.createdAt.isAfter(oldestValid)) {
                return replay(previous, requestHash);
            }
            UUID datasetId = Ids.newId();
            return claim(previous, keyId, requestHash, datasetId, now, oldestValid)
                    .chain(() -> insert(caller, datasetId, name, description))
                    .map(dataset -> new Created(dataset, false));
        });
    }

    /**
     * Records the key as used by this request: a new row, or an expired row taken over. Either way only one of
     * several concurrent transactions succeeds; the others fail with {@link KeyClaimedConcurrently}.
     */
    private Uni<Void> claim(IdempotencyKey expired, IdempotencyKey.Key keyId, String requestHash, UUID datasetId,
            Instant now, Instant oldestValid) {
        if (expired != null) {
            return idempotencyKeys.reclaimExpired(keyId, oldestValid, requestHash, datasetId, now)
                    .chain(claimed -> claimed
                            ? Uni.createFrom().voidItem()
                            : Uni.createFrom().failure(new KeyClaimedConcurrently()));
        }
        IdempotencyKey key = new IdempotencyKey();
        key.id = keyId;
        key.requestHash = requestHash;
        key.resourceId = datasetId;
        key.createdAt = now;
        return idempotencyKeys.persistAndFlush(key)
                .replaceWithVoid()
                .onFailure(SqlStates::isUniqueViolation)
                .transform(e -> new KeyClaimedConcurrently());
    }

    /** Another transaction claimed the same Idempotency-Key first. */
    private static final class KeyClaimedConcurrently extends RuntimeException {
        private static final long serialVersionUID = 1L;

        KeyClaimedConcurrently() {
            super(null, null, false, false);
        }
    }

    @WithSession
    public Uni<Dataset> get(Caller caller, String id) {
        UUID datasetId = Ids.parse(id).orElse(null);
        if (datasetId == null) {
            return Uni.createFrom().failure(ProblemException.notFound("dataset", id));
        }
        return datasets.findInTenant(caller.requireTenant(), datasetId)
                .onItem()
                .ifNull()
                .failWith(() -> ProblemException.notFound("dataset", id));
    }

    /** Datasets of the caller's tenant in creation order, after the cursor (a dataset id). */
    @WithSession
    public Uni<Page> list(Caller caller, int limit, String after) {
        int pageSize = limit == 0 ? config.pagination().defaultLimit() : limit;
        if (pageSize < 1 || pageSize > config.pagination().maxLimit()) {
            return Uni.createFrom()
                    .failure(ProblemException.invalid("limit",
                            "limit must be between 1 and " + config.pagination().maxLimit()));
        }
        UUID cursor = null;
        if (!after.isEmpty()) {
            cursor = Ids.parse(after).orElse(null);
            if (cursor == null) {
                return Uni.createFrom()
                        .failure(ProblemException.invalid("after", "after must be the next_after of a previous page"));
            }
        }
        return datasets.listInTenant(caller.requireTenant(), cursor, pageSize + 1)
                .map(found -> found.size() > pageSize
                        ? new Page(found.subList(0, pageSize), true)
                        : new Page(found, false));
    }

    private Uni<Created> replay(IdempotencyKey previous, String requestHash) {
        if (!previous.requestHash.equals(requestHash)) {
            return Uni.createFrom()
                    .failure(new ProblemException(ProblemType.IDEMPOTENCY_KEY_REUSED,
                            "this Idempotency-Key was first used with a different name or description",
                            "Idempotency-Key"));
        }
        return datasets.findInTenant(previous.id.tenant, previous.resourceId)
                .onItem()
                .ifNull()
                .failWith(() -> new ProblemException(ProblemType.CONFLICT,
                        "the dataset first created with this Idempotency-Key has since been deleted",
                        "Idempotency-Key"))
                .map(dataset -> new Created(dataset, true));
    }

    private Uni<Dataset> insert(Caller caller, UUID id, String name, String description) {
        String tenant = caller.requireTenant();
        ProblemException taken = new ProblemException(ProblemType.ALREADY_EXISTS,
                "a dataset named '" + name + "' already exists", "name");
        return datasets.nameTaken(tenant, name).chain(isTaken -> {
            if (isTaken) {
                return Uni.createFrom().failure(taken);
            }
            Dataset dataset = new Dataset();
            dataset.id = id;
            dataset.tenant = tenant;
            dataset.name = name;
            dataset.description = description;
            // PostgreSQL keeps microseconds: truncate so the answer equals what a later read returns.
            dataset.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
            dataset.updatedAt = dataset.createdAt;
            dataset.createdByUserId = caller.userId();
            dataset.createdByUsername = caller.username();
            return datasets.persistAndFlush(dataset)
                    .onFailure(SqlStates::isUniqueViolation)
                    .transform(e -> taken)
                    .call(created -> outbox.add(AuditEvents.byCaller(caller, AUDIT_SOURCE, "dataset.created",
                            "dataset", id.toString(), Outcome.OUTCOME_SUCCESS, Map.of("name", name))));
        });
    }

    static ProblemException validateCreate(String name, String description, String idempotencyKey) {
        if (name.isEmpty()) {
            return ProblemException.invalid("name", "name is required");
        }
        if (!NAME.matcher(name).matches()) {
            return ProblemException.invalid("name",
                    "name must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if (description.length() > MAX_DESCRIPTION_LENGTH) {
            return ProblemException.invalid("description",
                    "description must be at most " + MAX_DESCRIPTION_LENGTH + " characters");
        }
        if (idempotencyKey.length() > MAX_IDEMPOTENCY_KEY_LENGTH) {
            return ProblemException.invalid("Idempotency-Key",
                    "Idempotency-Key must be at most " + MAX_IDEMPOTENCY_KEY_LENGTH + " characters");
        }
        return null;
    }
}
