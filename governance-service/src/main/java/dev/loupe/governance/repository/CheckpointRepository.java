package dev.loupe.governance.repository;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.audit.Checkpoint;

/** SQL over the signed checkpoints; like the entries, they are only ever inserted. */
@ApplicationScoped
public class CheckpointRepository {

    public Uni<Void> insert(SqlClient client, Checkpoint checkpoint) {
        return client.preparedQuery("INSERT INTO audit_checkpoint (chain, seq, head_hash, signed_at, key_id, signature)"
                + " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
                .execute(Tuple.from(List.of(checkpoint.chain(), checkpoint.seq(), checkpoint.headHash(),
                        OffsetDateTime.ofInstant(checkpoint.signedAt(), ZoneOffset.UTC), checkpoint.keyId(),
                        Base64.getEncoder().encodeToString(checkpoint.signature()))))
                .replaceWithVoid();
    }

    /** A chain's checkpoints in sequence order. */
    public Uni<List<Checkpoint>> list(SqlClient client, String chain) {
        return client.preparedQuery("SELECT chain, seq, head_hash, signed_at, key_id, signature FROM audit_checkpoint"
                + " WHERE chain = $1 ORDER BY seq")
                .execute(Tuple.of(chain))
                .map(rows -> {
                    List<Checkpoint> checkpoints = new ArrayList<>(rows.rowCount());
                    rows.forEach(row -> checkpoints.add(new Checkpoint(row.getString("chain"), row.getLong("seq"),
                            row.getString("head_hash"), row.getOffsetDateTime("signed_at").toInstant(),
                            row.getString("key_id"), decode(row.getString("signature")))));
                    return checkpoints;
                });
    }

    /** Sequence number of a chain's newest checkpoint; 0 if it has none. */
    public Uni<Long> lastSeq(SqlClient client, String chain) {
        return client.preparedQuery("SELECT coalesce(max(seq), 0) AS seq FROM audit_checkpoint WHERE chain = $1")
                .execute(Tuple.of(chain))
                .map(rows -> rows.iterator().next().getLong("seq"));
    }

    /** Chains whose head is past their newest checkpoint. */
    public Uni<List<String>> chainsAhead(SqlClient client) {
        return client.query("SELECT h.chain FROM audit_chain_head h WHERE h.seq > coalesce("
                + "(SELECT max(c.seq) FROM audit_checkpoint c WHERE c.chain = h.chain), 0) ORDER BY h.chain")
                .execute()
                .map(rows -> {
                    List<String> chains = new ArrayList<>();
                    rows.forEach(row -> chains.add(row.getString("chain")));
                    return chains;
                });
    }

    private static byte[] decode(String base64) {
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            // Tampered: an empty signature never verifies.
            return new byte[0];
        }
    }
}
