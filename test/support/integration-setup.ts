// Integration tests wait on a real control plane: allow minutes, not jest's default 5 seconds.
import { jest } from '@jest/globals';

jest.setTimeout(120_000);
