package dev.loupe.audit;

import java.util.List;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class VerificationTest {
    private static final TreeSet<Long> BAD_SIGNATURE_AT_10 = new TreeSet<>(List.of(10L, 20L));

    @Test
    void aBadSignatureInvalidatesAValidChainAtItsSeq() {
        Verification result = Verification.withCheckpointSignatures(Verification.valid(25), BAD_SIGNATURE_AT_10, 1);

        assertEquals(Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID), result);
    }

    @Test
    void anEarlierChainProblemWins() {
        Verification chain = Verification.invalid(4, 5, Verification.MODIFIED_ENTRY);

        assertSame(chain, Verification.withCheckpointSignatures(chain, BAD_SIGNATURE_AT_10, 1));
    }

    @Test
    void aLaterChainProblemLoses() {
        Verification chain = Verification.invalid(11, 12, Verification.MISSING_ENTRY);

        assertEquals(Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID),
                Verification.withCheckpointSignatures(chain, BAD_SIGNATURE_AT_10, 1));
    }

    @Test
    void theSignatureWinsATie() {
        Verification chain = Verification.invalid(9, 10, Verification.MISSING_CHECKPOINT);

        assertEquals(Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID),
                Verification.withCheckpointSignatures(chain, BAD_SIGNATURE_AT_10, 1));
    }

    @Test
    void checkedCountsFromTheFirstSeqWalked() {
        assertEquals(Verification.invalid(4, 10, Verification.CHECKPOINT_SIGNATURE_INVALID),
                Verification.withCheckpointSignatures(Verification.valid(20), BAD_SIGNATURE_AT_10, 6));
    }

    @Test
    void noBadSignatureLeavesTheResult() {
        Verification chain = Verification.valid(25);

        assertSame(chain, Verification.withCheckpointSignatures(chain, new TreeSet<>(), 1));
    }
}
