package dev.loupe.governance.service;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlClient;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.audit.ChainHash;
import dev.loupe.audit.ChainWalk;
import dev.loupe.audit.Verification;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.governance.repository.AuditChainRepository.EventFilter;
import dev.loupe.governance.repository.AuditChainRepository.Head;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;

/**
 * Appends events to their chains and verifies chains. Appends to one chain are serialized by a row lock on
 * its head, so sequence numbers never fork or leave gaps; an event id already in the trail is reported as a
 * duplicate and not appended again, which turns the producers' at-least-once delivery into exactly-once.
 */
@ApplicationScoped
public class AuditChainService {
    /** The {@code source} of events the governance-service records itself. */
    public static final String SOURCE = "governance-service";
    /** Entries read per query while verifying. */
    static final int VERIFY_PAGE = 1000;

    /** Which events of a request were appended, and which were already in the trail (or repeated in it). */
    public record AppendResult(List<UUID> appended, List<UUID> duplicates) {
    }

    /** Entries appended to one chain by one request: {@code fromSeq..toSeq}. */
    private record ChainAppend(String chain, long fromSeq, long toSeq, List<UUID> eventIds) {
    }

    private final Pool pool;
    private final AuditChainRepository chains;
    private final CheckpointService checkpoints;
    private final AuditPseudonyms pseudonyms;

    public AuditChainService(Pool pool, AuditChainRepository chains, CheckpointService checkpoints,
            AuditPseudonyms pseudonyms) {
        this.pool = pool;
        this.chains = chains;
        this.checkpoints = checkpoints;
        this.pseudonyms = pseudonyms;
    }

    /**
     * Appends events as producers report them, usernames in clear in the username-hash fields: they are
     * replaced by their keyed hashes ({@link AuditPseudonyms}) before anything is stored.
     */
    public Uni<AppendResult> append(List<AuditEvent> events) {
        return pseudonyms.pseudonymise(events).chain(this::appendPseudonymised);
    }

    private Uni<AppendResult> appendPseudonymised(List<AuditEvent> events) {
        // Chains in name order, so concurrent requests lock the heads they share in the same order.
        Map<String, List<AuditEvent>> byChain = new TreeMap<>();
        Set<UUID> inRequest = new HashSet<>();
        for (AuditEvent event : events) {
            if (inRequest.add(event.eventId())) {
                byChain.computeIfAbsent(event.chain(), chain -> new ArrayList<>()).add(event);
            }
        }
        // Optimistic first: most batches hold no event appended before, so the duplicate check is skipped; an
        // event already present makes the insert come up short, and the batch is redone with the check.
        return appendAll(byChain, false)
                .onFailure(EventAlreadyAppended.class)
                .recoverWithUni(() -> appendAll(byChain, true))
                .map(chainAppends -> {
                    List<UUID> appendedIds = new ArrayList<>();
                    for (ChainAppend chainAppend : chainAppends) {
                        appendedIds.addAll(chainAppend.eventIds());
                        checkpoints.appended(chainAppend.chain(), chainAppend.fromSeq(), chainAppend.toSeq());
                    }
                    Set<UUID> appendedSet = new HashSet<>(appendedIds);
                    List<UUID> duplicates = new ArrayList<>();
                    Set<UUID> reported = new HashSet<>();
                    for (AuditEvent event : events) {
                        if (!appendedSet.contains(event.eventId()) || !reported.add(event.eventId())) {
                            duplicates.add(event.eventId());
                        }
                    }
                    return new AppendResult(appendedIds, duplicates);
                });
    }

    private Uni<List<ChainAppend>> appendAll(Map<String, List<AuditEvent>> byChain, boolean checkDuplicates) {
        return pool.withTransaction(transaction -> {
            Uni<List<ChainAppend>> appended = Uni.createFrom().item(new ArrayList<>());
            for (Map.Entry<String, List<AuditEvent>> chain : byChain.entrySet()) {
                appended = appended.chain(done -> appendToChain(transaction, chain.getKey(), chain.getValue(),
                        checkDuplicates).map(more -> {
                            if (more != null) {
                                done.add(more);
                            }
                            return done;
                        }));
            }
            return appended;
        });
    }

    /** Appends the events to one chain; null when all were in the trail already. */
    private Uni<ChainAppend> appendToChain(SqlClient transaction, String chain, List<AuditEvent> events,
            boolean checkDuplicates) {
        Uni<Set<UUID>> alreadyAppended = checkDuplicates
                ? chains.existingEventIds(transaction, events.stream().map(AuditEvent::eventId).toList())
                : Uni.createFrom().item(Set.of());
        return chains.lockHead(transaction, chain)
                .chain(head -> alreadyAppended.chain(existing -> {
                    List<AuditEntry> entries = link(chain, head, events, existing);
                    if (entries.isEmpty()) {
                        return Uni.createFrom().<ChainAppend>nullItem();
                    }
                    AuditEntry last = entries.get(entries.size() - 1);
                    List<UUID> ids = entries.stream().map(entry -> entry.event().eventId()).toList();
                    return chains.insertNew(transaction, entries)
                            .chain(inserted -> inserted < entries.size()
                                    ? Uni.createFrom().<ChainAppend>failure(new EventAlreadyAppended())
                                    : chains.moveHead(transaction, chain, new Head(last.seq(), last.hash()))
                                            .replaceWith(new ChainAppend(chain, entries.get(0).seq(), last.seq(),
                                                    ids)));
                }));
    }

    /** An event of the batch was already in the trail: the optimistic append is rolled back and redone. */
    private static final class EventAlreadyAppended extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EventAlreadyAppended() {
            super(null, null, false, false);
        }
    }

    /** Numbers and hashes the new events after the chain's head. */
    static List<AuditEntry> link(String chain, Head head, List<AuditEvent> events, Set<UUID> alreadyAppended) {
        Instant appendedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        List<AuditEntry> entries = new ArrayList<>();
        long seq = head.seq();
        String prevHash = head.hash();
        for (AuditEvent event : events) {
            if (alreadyAppended.contains(event.eventId())) {
                continue;
            }
            seq++;
            String hash = ChainHash.of(chain, seq, event, appendedAt, prevHash);
            entries.add(new AuditEntry(chain, seq, event, appendedAt, prevHash, hash));
            prevHash = hash;
        }
        return entries;
    }

    /**
     * Records that a compliance officer read, verified or exported their tenant's trail: reading audit content
     * is an access like any other, and it lands in the same chain.
     */
    public Uni<Void> recordAccess(Caller caller, String action, String details) {
        String tenant = caller.requireTenant();
        AuditEvent event = new AuditEvent(Ids.newId(), Instant.now().truncatedTo(ChronoUnit.MICROS), tenant,
                caller.userId(), caller.username(), "", "", "", action, "audit_chain", tenant, "success", "", details,
                SOURCE);
        return append(List.of(event)).replaceWithVoid();
    }

    /**
     * Entries of a chain matching a filter, at most {@code limit}, after {@code afterSeq} in the order asked. An
     * {@code actor} is looked for as an id and, through its keyed hashes, as a username.
     */
    public Uni<List<AuditEntry>> search(String chain, EventFilter filter, long afterSeq, boolean newestFirst,
            int limit) {
        if (filter.actor() == null || filter.actor().isEmpty()) {
            return chains.search(pool, chain, filter, afterSeq, newestFirst, limit);
        }
        return pseudonyms.hashesUnderEveryVersion(chain, filter.actor())
                .chain(hashes -> chains.search(pool, chain, new EventFilter(filter.from(), filter.to(),
                        filter.actionPrefix(), filter.actor(), hashes, filter.resourceType(), filter.resourceId(),
                        filter.outcome()), afterSeq, newestFirst, limit));
    }

    /**
     * Recomputes a chain from {@code fromSeq} to {@code toSeq} (0: its end) and checks it against the signed
     * checkpoints: every hash, every link, no gap, every checkpointed entry carrying the signed hash, nothing
     * after the head, nothing missing before the newest checkpoint, every checkpoint signature valid. The end of
     * a chain is its head or its newest checkpoint, whichever is further, so a truncated tail is found even when
     * the head row was moved back with it.
     */
    public Uni<Verification> verify(String chain, long fromSeq, long toSeq) {
        // One snapshot for every read: entries appended while the walk runs would otherwise look inserted past
        // the head it read first. Checkpoints signed after the snapshot began are of entries it cannot see.
        Instant started = Instant.now();
        return pool.withTransaction(snapshot -> snapshot
                .query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute()
                .chain(() -> verifyIn(snapshot, chain, fromSeq, toSeq, started)));
    }

    private Uni<Verification> verifyIn(SqlClient snapshot, String chain, long fromSeq, long toSeq, Instant started) {
        long from = Math.max(1, fromSeq);
        return chains.head(snapshot, chain).chain(head -> checkpoints.checked(snapshot, chain, started)
                .chain(checked -> {
                    long end = Math.max(head.seq(), checked.newestValidSeq());
                    long to = toSeq <= 0 ? end : Math.min(toSeq, end);
                    Uni<String> startingPrevHash = from == 1
                            ? Uni.createFrom().item(ChainHash.GENESIS)
                            : chains.read(snapshot, chain, from - 1, from - 1, 1)
                                    .map(found -> found.isEmpty() ? null : found.get(0).hash());
                    return startingPrevHash.chain(prevHash -> {
                        if (prevHash == null) {
                            return Uni.createFrom().item(Verification.invalid(0, from - 1, Verification.MISSING_ENTRY));
                        }
                        ChainWalk walk = new ChainWalk(from, prevHash, checked.validHeadHashes());
                        return walkPages(snapshot, chain, walk, to).chain(found -> {
                            if (found != null) {
                                return Uni.createFrom().item(found);
                            }
                            Verification truncated = walk.finish(to);
                            if (truncated != null) {
                                return Uni.createFrom().item(truncated);
                            }
                            // Entries past the end were written around the append path.
                            return chains.read(snapshot, chain, end + 1, Long.MAX_VALUE, 1)
                                    .map(beyond -> toSeq <= 0 && !beyond.isEmpty()
                                            ? Verification.invalid(walk.checked(), beyond.get(0).seq(),
                                                    Verification.INSERTED_ENTRY)
                                            : Verification.valid(walk.checked()));
                        }).map(result -> to < from
                                ? result
                                : Verification.withCheckpointSignatures(result,
                                        checked.invalidSeqs().subSet(from, true, to, true), from));
                    });
                }));
    }

    private Uni<Verification> walkPages(SqlClient snapshot, String chain, ChainWalk walk, long to) {
        if (walk.expectedSeq() > to) {
            return Uni.createFrom().nullItem();
        }
        return chains.read(snapshot, chain, walk.expectedSeq(), to, VERIFY_PAGE).chain(page -> {
            for (AuditEntry entry : page) {
                Verification problem = walk.check(entry);
                if (problem != null) {
                    return Uni.createFrom().item(problem);
                }
            }
            return page.size() < VERIFY_PAGE ? Uni.createFrom().nullItem() : walkPages(snapshot, chain, walk, to);
        });
    }
}
