/** Scheduled evaluations of deployments on a frozen validation version, compared with the training-time scores. */
package dev.loupe.serving.evaluation;
