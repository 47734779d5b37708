/**
 * Drift of served traffic: the reference a training run records of its data (picture statistics, the vision
 * encoder's features, the answers' lengths and forms) and the sliding window of live traffic compared with it.
 */
package dev.loupe.engine.drift;
