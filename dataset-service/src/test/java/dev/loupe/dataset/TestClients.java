package dev.loupe.dataset;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

/**
 * What the dataset-service's Quarkus tests share: a channel to the service under test, stubs that call it as a
 * realm user, test images, and the audit outbox read back with the database login.
 */
final class TestClients {
    private TestClients() {
    }

    /** A channel to the service under test (its test port), taking messages as large as an example may be. */
    static ManagedChannel channel() {
        return ManagedChannelBuilder.forAddress("localhost", 18081).usePlaintext().maxInboundMessageSize(64 << 20)
                .build();
    }

    /** The DatasetService as a realm user, with a real Keycloak token. */
    static DatasetServiceBlockingStub as(ManagedChannel channel, String user) {
        return DatasetServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /** A PNG of one colour. */
    static byte[] png(Color colour, int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = image.createGraphics();
        graphics.setColor(colour);
        graphics.fillRect(0, 0, width, height);
        graphics.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    /** The outbox's events about one resource, oldest first. */
    static List<AuditEvent> outboxEventsAbout(String jdbcUrl, String user, String password, String resourceId)
            throws Exception {
        return dev.loupe.support.testing.OutboxEvents.about(jdbcUrl, user, password, resourceId);
    }
}
