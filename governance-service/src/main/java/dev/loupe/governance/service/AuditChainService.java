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

import dev.loupe.governance.model.AuditEntry;
import dev.loupe.governance.model.AuditEvent;
import dev.loupe.governance.model.ChainHash;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.governance.repository.AuditChainRepository.Head;

/**
 * Appends events to their chains and verifies chains. Appends to one chain are serialized by a row lock on
 * its head, so sequence numbers never fork or leave gaps; an event id already in the trail is reported as a
 * duplicate and not appended again, which turns the producers' at-least-once delivery into exactly-once.
 */
@ApplicationScoped
public class AuditChainService {
    /** Entries read per query while verifying. */
    static final int VERIFY_PAGE = 1000;

    /** Which events of a request were appended, and which were already in the trail (or repeated in it). */
    public record AppendResult(List<UUID> appended, List<UUID> duplicates) {
    }

    /**
     * The outcome of verifying a chain between two sequence numbers.
     *
     * @param reason empty when valid; else {@code modified_entry}, {@code missing_entry}, {@code inserted_entry},
     *        {@code reordered_entries} or {@code truncated_tail}
     */
    public record Verification(boolean valid, long checked, long firstInvalidSeq, String reason) {
        static Verification invalid(long checked, long seq, String reason) {
            return new Verification(false, checked, seq, reason);
        }
    }

    private final Pool pool;
    private final AuditChainRepository chains;

    public AuditChainService(Pool pool, AuditChainRepository chains) {
        this.pool = pool;
        this.chains = chains;
    }

    public Uni<AppendResult> append(List<AuditEvent> events) {
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
                .map(appendedIds -> {
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

    private Uni<List<UUID>> appendAll(Map<String, List<AuditEvent>> byChain, boolean checkDuplicates) {
        return pool.withTransaction(transaction -> {
            Uni<List<UUID>> appended = Uni.createFrom().item(new ArrayList<>());
            for (Map.Entry<String, List<AuditEvent>> chain : byChain.entrySet()) {
                appended = appended.chain(ids -> appendToChain(transaction, chain.getKey(), chain.getValue(),
                        checkDuplicates).map(more -> {
                            ids.addAll(more);
                            return ids;
                        }));
            }
            return appended;
        });
    }

    private Uni<List<UUID>> appendToChain(SqlClient transaction, String chain, List<AuditEvent> events,
            boolean checkDuplicates) {
        Uni<Set<UUID>> alreadyAppended = checkDuplicates
                ? chains.existingEventIds(transaction, events.stream().map(AuditEvent::eventId).toList())
                : Uni.createFrom().item(Set.of());
        return chains.lockHead(transaction, chain)
                .chain(head -> alreadyAppended.chain(existing -> {
                    List<AuditEntry> entries = link(chain, head, events, existing);
                    if (entries.isEmpty()) {
                        return Uni.createFrom().item(List.<UUID>of());
                    }
                    AuditEntry last = entries.get(entries.size() - 1);
                    List<UUID> ids = entries.stream().map(entry -> entry.event().eventId()).toList();
                    return chains.insertNew(transaction, entries)
                            .chain(inserted -> inserted < entries.size()
                                    ? Uni.createFrom().<List<UUID>>failure(new EventAlreadyAppended())
                                    : chains.moveHead(transaction, chain, new Head(last.seq(), last.hash()))
                                            .replaceWith(ids));
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
     * Recomputes a chain from {@code fromSeq} to {@code toSeq} (0: its head): every hash, every link, no gap,
     * nothing after the head, nothing missing before it.
     */
    public Uni<Verification> verify(String chain, long fromSeq, long toSeq) {
        long from = Math.max(1, fromSeq);
        return chains.head(pool, chain).chain(head -> {
            long to = toSeq <= 0 ? head.seq() : Math.min(toSeq, head.seq());
            Uni<String> startingPrevHash = from == 1
                    ? Uni.createFrom().item(ChainHash.GENESIS)
                    : chains.read(pool, chain, from - 1, from - 1, 1)
                            .map(found -> found.isEmpty() ? null : found.get(0).hash());
            return startingPrevHash.chain(prevHash -> {
                if (prevHash == null) {
                    return Uni.createFrom().item(Verification.invalid(0, from - 1, "missing_entry"));
                }
                ChainWalk walk = new ChainWalk(from, prevHash);
                return walkPages(chain, walk, to).chain(result -> {
                    if (result != null) {
                        return Uni.createFrom().item(result);
                    }
                    if (walk.expectedSeq <= to) {
                        return Uni.createFrom().item(Verification.invalid(walk.checked, walk.expectedSeq,
                                "truncated_tail"));
                    }
                    // Entries past the head were written around the append path.
                    return chains.read(pool, chain, head.seq() + 1, Long.MAX_VALUE, 1)
                            .map(beyond -> toSeq <= 0 && !beyond.isEmpty()
                                    ? Verification.invalid(walk.checked, beyond.get(0).seq(), "inserted_entry")
                                    : new Verification(true, walk.checked, 0, ""));
                });
            });
        });
    }

    private Uni<Verification> walkPages(String chain, ChainWalk walk, long to) {
        if (walk.expectedSeq > to) {
            return Uni.createFrom().nullItem();
        }
        return chains.read(pool, chain, walk.expectedSeq, to, VERIFY_PAGE).chain(page -> {
            for (AuditEntry entry : page) {
                Verification problem = walk.check(entry);
                if (problem != null) {
                    return Uni.createFrom().item(problem);
                }
            }
            return page.size() < VERIFY_PAGE ? Uni.createFrom().nullItem() : walkPages(chain, walk, to);
        });
    }

    /** The state of a verification pass: what the next entry must be. */
    private static final class ChainWalk {
        long expectedSeq;
        String expectedPrevHash;
        long checked;
        private final Set<String> seenHashes = new HashSet<>();

        ChainWalk(long expectedSeq, String expectedPrevHash) {
            this.expectedSeq = expectedSeq;
            this.expectedPrevHash = expectedPrevHash;
        }

        /** Checks the next entry read; null when it is the entry the chain needs. */
        Verification check(AuditEntry entry) {
            if (entry.seq() > expectedSeq) {
                return Verification.invalid(checked, expectedSeq, "missing_entry");
            }
            if (!ChainHash.matches(entry)) {
                return Verification.invalid(checked, entry.seq(), "modified_entry");
            }
            if (!entry.prevHash().equals(expectedPrevHash)) {
                // A well-formed entry linked to an earlier one was moved; one linked to nothing we saw was forged.
                String reason = seenHashes.contains(entry.prevHash()) ? "reordered_entries" : "inserted_entry";
                return Verification.invalid(checked, entry.seq(), reason);
            }
            seenHashes.add(entry.hash());
            expectedPrevHash = entry.hash();
            expectedSeq++;
            checked++;
            return null;
        }
    }
}
